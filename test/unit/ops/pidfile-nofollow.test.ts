// Pid files are never written through a symbolic link: one at the path is refused (keepalived's
// open(O_NOFOLLOW) fails on it too), and the temporary file is created O_EXCL|O_NOFOLLOW under an
// unpredictable name, so a link planted where it would go is never followed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquirePidFile, PidFileError, readPidFile, writePidFile } from '../../../src/daemon/process/pidfile.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lko-pidlink-'));
  chmodSync(dir, 0o1777);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function victim(name: string): string {
  const path = join(dir, name);
  writeFileSync(path, 'root:x:0:0\n', { mode: 0o600 });
  return path;
}

describe('pid files and symbolic links', () => {
  it('a symbolic link at the pid file path is refused, naming the path; its target is untouched', () => {
    const target = victim('shadow-1');
    const path = join(dir, 'a.pid');
    symlinkSync(target, path);
    expect(() => acquirePidFile(path, 4242, { isAlive: () => false })).toThrow(PidFileError);
    expect(() => writePidFile(path, 4242)).toThrow(`cannot write pid file ${path}: it is a symbolic link - remove it`);
    expect(readFileSync(target, 'utf8')).toBe('root:x:0:0\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
  });

  it('a link planted at the old temporary name (.NAME.PID.tmp) is not followed', () => {
    const target = victim('shadow-2');
    const path = join(dir, 'b.pid');
    symlinkSync(target, join(dir, `.b.pid.${process.pid}.tmp`));
    writePidFile(path, 4343);
    expect(readFileSync(target, 'utf8')).toBe('root:x:0:0\n');
    expect(readPidFile(path)).toBe(4343);
    expect(lstatSync(path).isFile()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o644);
    // no temporary file of ours left behind, only the planted link
    expect(readdirSync(dir).filter((f) => f.startsWith('.b.pid.'))).toEqual([`.b.pid.${process.pid}.tmp`]);
  });

  it('reads no pid through a link (a stale check never reads what the link points to)', () => {
    const real = join(dir, 'real.pid');
    writeFileSync(real, '777\n');
    const path = join(dir, 'c.pid');
    symlinkSync(real, path);
    expect(readPidFile(real)).toBe(777);
    expect(readPidFile(path)).toBeUndefined();
  });
});
