// track_file's init_file never writes through a symbolic link (track files often live in directories
// other users write to): a link at the path is refused, a new value is renamed over the path, and an
// overwritten file keeps its owner and mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackFile } from '../../../src/config/index.js';
import { initTrackFiles } from '../../../src/daemon/config-load.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';

const root = process.geteuid?.() === 0;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lk-initfile-'));
  chmodSync(dir, 0o1777);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const at = { file: 'k.conf', line: 3 };
const track = (name: string, path: string, overwrite: boolean, value = 5): TrackFile => ({
  name, path, weight: 1, weightReverse: false, initFile: { value, overwrite }, location: at,
});

function run(files: TrackFile[]): string[] {
  const log = createMemoryLogger();
  initTrackFiles(files, log);
  return log.lines.map((l) => l.msg);
}

describe('init_file and symbolic links', () => {
  it('overwrite: a link at the path is refused, naming the track file and path; its target is untouched', () => {
    const target = join(dir, 'target-1');
    writeFileSync(target, 'precious\n', { mode: 0o600 });
    const path = join(dir, 'tf-1');
    symlinkSync(target, path);
    expect(run([track('tf1', path, true)])).toEqual([`track_file tf1: init_file: ${path} is a symbolic link - not initialising it`]);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
  });

  it('without overwrite: a dangling link is refused, and nothing is created where it points', () => {
    const nowhere = join(dir, 'would-be-created');
    const path = join(dir, 'tf-2');
    symlinkSync(nowhere, path);
    expect(run([track('tf2', path, false)])).toEqual([`track_file tf2: init_file: ${path} is a symbolic link - not initialising it`]);
    expect(existsSync(nowhere)).toBe(false);
  });

  it('overwrite refuses what is not a regular file, with keepalived\'s reason', () => {
    const path = join(dir, 'tf-dir');
    mkdirSync(path);
    expect(run([track('tf3', path, true)])).toEqual([`track_file tf3: cannot initialise ${path} - it is not a regular file`]);
  });

  it.skipIf(!root)('overwrite replaces a regular file, keeping its owner and mode', () => {
    const path = join(dir, 'tf-owned');
    writeFileSync(path, '9\n');
    chownSync(path, 65534, 65534);
    chmodSync(path, 0o664);
    const before = lstatSync(path);
    expect(run([track('tf4', path, true, 3)])).toEqual([]);
    expect(readFileSync(path, 'utf8')).toBe('3\n');
    const after = statSync(path);
    expect(after.ino).not.toBe(before.ino); // a new file renamed over the path: a hard link planted there is not written through
    expect({ uid: after.uid, gid: after.gid, mode: after.mode & 0o777 }).toEqual({ uid: 65534, gid: 65534, mode: 0o664 });
  });
});
