// What NotifyFifo.open accepts at its path: it creates a FIFO 0600, and uses an existing one only if it is a
// FIFO or regular file (not a symbolic link) owned by us or the fifo script's user and not writable by
// group or others. Real files in a temporary directory (root: files are given to `nobody` with chown).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { NotifyFifo } from '../../../src/scripts/notify-fifo.js';
import type { PreparedScript } from '../../../src/scripts/script-security.js';
import { FakeSpawner } from './helpers.js';

const root = process.geteuid?.() === 0;
const NOBODY = 65534;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvsk-fifo-sec-'));
  chmodSync(dir, 0o1777); // a shared directory like /tmp
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mkfifo(path: string, mode: number): void {
  expect(spawnSync('mkfifo', ['-m', mode.toString(8), path]).status).toBe(0);
}

const messages = (logger: ReturnType<typeof createMemoryLogger>): string[] => logger.lines.map((l) => l.msg);

const readerAs = (uid: number): PreparedScript => ({
  command: { kind: 'exec', file: '/usr/local/bin/fifo-reader', args: [] },
  runAs: { user: uid === 0 ? 'root' : 'nobody', uid, gid: uid },
  configured: '/usr/local/bin/fifo-reader',
});

describe('NotifyFifo.open: what it creates', () => {
  it('creates a missing FIFO with mode 0600, owned by us, and removes it at close', async () => {
    const path = join(dir, 'fresh.fifo');
    const logger = createMemoryLogger();
    const fifo = NotifyFifo.open({ path, logger, label: 'vrrp ' });
    expect(fifo).toBeDefined();
    const st = lstatSync(path);
    expect(st.isFIFO()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.uid).toBe(process.geteuid?.());
    expect(messages(logger)).toEqual([]);
    await fifo?.close(0);
    expect(existsSync(path)).toBe(false);
  });

  it.skipIf(!root)("gives a FIFO it creates to the notify_fifo_script's user, as keepalived chowns it to the FIFO's user", async () => {
    const path = join(dir, 'for-nobody.fifo');
    const spawner = new FakeSpawner();
    const fifo = NotifyFifo.open({ path, logger: createMemoryLogger(), script: readerAs(NOBODY), spawner: spawner.spawn });
    expect(fifo).toBeDefined();
    expect(lstatSync(path)).toMatchObject({ uid: NOBODY, gid: NOBODY });
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    expect(spawner.last().extraArgs).toEqual([path]);
    await fifo?.close(0);
  });
});

describe('NotifyFifo.open: what it refuses at the path', () => {
  it('a symbolic link (to a file or dangling): refused, naming the option and path; the target is untouched', () => {
    const target = join(dir, 'victim.txt');
    writeFileSync(target, 'precious\n', { mode: 0o640 });
    const link = join(dir, 'link.fifo');
    symlinkSync(target, link);
    const logger = createMemoryLogger();
    const spawner = new FakeSpawner();
    expect(NotifyFifo.open({ path: link, logger, label: 'vrrp ', script: readerAs(0), spawner: spawner.spawn })).toBeUndefined();
    expect(messages(logger)).toEqual([`vrrp_notify_fifo ${link} is a symbolic link - not using it`]);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(spawner.runs).toEqual([]); // the script is not started either

    const dangling = join(dir, 'dangling.fifo');
    const nowhere = join(dir, 'would-be-created');
    symlinkSync(nowhere, dangling);
    const logger2 = createMemoryLogger();
    expect(NotifyFifo.open({ path: dangling, logger: logger2 })).toBeUndefined();
    expect(messages(logger2)).toEqual([`notify_fifo ${dangling} is a symbolic link - not using it`]);
    expect(existsSync(nowhere)).toBe(false);
  });

  it.skipIf(!root)("a FIFO owned by another user: refused (they could read the events or inject lines), unless it is the fifo script's user", async () => {
    const path = join(dir, 'planted.fifo');
    mkfifo(path, 0o600);
    chownSync(path, NOBODY, NOBODY);
    const logger = createMemoryLogger();
    expect(NotifyFifo.open({ path, logger, label: 'lvs ' })).toBeUndefined();
    expect(messages(logger)).toEqual([`lvs_notify_fifo ${path} is owned by uid ${NOBODY}, not by us (uid 0) - not using it`]);
    expect(lstatSync(path).isFIFO()).toBe(true); // not ours to remove

    // The reader's own FIFO (later keepalived accepts the FIFO's user too): used, and kept at close.
    const logger2 = createMemoryLogger();
    const fifo = NotifyFifo.open({ path, logger: logger2, script: readerAs(NOBODY), spawner: new FakeSpawner().spawn });
    expect(fifo).toBeDefined();
    expect(messages(logger2)).toEqual([]);
    await fifo?.close(0);
    expect(lstatSync(path).isFIFO()).toBe(true);
  });

  it('a regular file of ours gets the lines appended, as keepalived 2.2.7 writes to one; another user\'s or a directory is refused', async () => {
    const path = join(dir, 'plain.log');
    writeFileSync(path, 'kept\n', { mode: 0o600 });
    chmodSync(path, 0o600);
    const logger = createMemoryLogger();
    const fifo = NotifyFifo.open({ path, logger });
    expect(fifo).toBeDefined();
    fifo?.write('INSTANCE "VI_1" MASTER 100\n');
    await fifo?.close(1000);
    expect(readFileSync(path, 'utf8')).toBe('kept\nINSTANCE "VI_1" MASTER 100\n');
    expect(lstatSync(path).isFile()).toBe(true); // not removed: we did not create it

    const theirs = join(dir, 'theirs.log');
    writeFileSync(theirs, '', { mode: 0o600 });
    chownSync(theirs, NOBODY, NOBODY);
    const logger2 = createMemoryLogger();
    expect(NotifyFifo.open({ path: theirs, logger: logger2 })).toBeUndefined();
    expect(messages(logger2)).toEqual([`notify_fifo ${theirs} is owned by uid ${NOBODY}, not by us (uid 0) - not using it`]);

    const logger3 = createMemoryLogger();
    expect(NotifyFifo.open({ path: dir, logger: logger3 })).toBeUndefined();
    expect(messages(logger3)).toEqual([`notify_fifo ${dir} exists and is neither a FIFO nor a regular file - not using it`]);
  });

  it('reuses a FIFO left by an earlier run (ours, 0600), but not one writable by group or others', async () => {
    const left = join(dir, 'left.fifo');
    mkfifo(left, 0o600);
    const logger = createMemoryLogger();
    const fifo = NotifyFifo.open({ path: left, logger });
    expect(fifo).toBeDefined();
    expect(messages(logger)).toEqual([]);
    await fifo?.close(0);
    expect(lstatSync(left).isFIFO()).toBe(true);

    const open = join(dir, 'open.fifo');
    mkfifo(open, 0o600);
    chmodSync(open, 0o666);
    const logger2 = createMemoryLogger();
    expect(NotifyFifo.open({ path: open, logger: logger2, label: 'vrrp ' })).toBeUndefined();
    expect(messages(logger2)).toEqual([`vrrp_notify_fifo ${open} is writable by group or others (mode 0666): they could inject events - not using it`]);
  });

  it('uses a FIFO of ours that others may read (0644, keepalived 2.2.7 created them so) with a warning', async () => {
    const path = join(dir, 'readable.fifo');
    mkfifo(path, 0o644);
    const logger = createMemoryLogger();
    const fifo = NotifyFifo.open({ path, logger });
    expect(fifo).toBeDefined();
    expect(messages(logger)).toEqual([`notify_fifo ${path} is readable by every local user (mode 0644): they can read the events`]);
    await fifo?.close(0);
  });
});
