// The script launcher (src/scripts/launcher.ts) with its real helper process (dist/, npm run build):
// what happens around the helper itself. What scripts do through it is covered by
// track-script.process.test.ts, which runs every case through the launcher too.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ScriptLauncher } from '../../../src/scripts/launcher.js';
import type { PreparedScript } from '../../../src/scripts/script-security.js';

const MODULE = new URL('../../../dist/scripts/launcher-main.js', import.meta.url).pathname;
const self = { user: 'self', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
/** A shell line, spelled out: scripts never get a shell of their own (keepalived execs them). */
const shell = (line: string): PreparedScript => ({ command: { kind: 'exec', file: '/bin/sh', args: ['-c', line] }, runAs: self, configured: line });

/** The helper's pid: the only child of this process running launcher-main.js. */
function helperPids(): number[] {
  const out: number[] = [];
  for (const pid of readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('launcher-main.js')) out.push(Number(pid));
    } catch {
      // gone
    }
  }
  return out;
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!existsSync(MODULE))('ScriptLauncher', () => {
  const warnings: string[] = [];
  let launcher: ScriptLauncher;
  afterEach(() => launcher.close());
  const make = (): ScriptLauncher => (launcher = new ScriptLauncher({ modulePath: MODULE, warn: (m) => warnings.push(m) }));

  it('runs scripts in its helper, not as children of this process', async () => {
    make().start();
    const parentFile = join(mkdtempSync(join(tmpdir(), 'lvsk-launcher-')), 'ppid');
    const run = launcher.spawner(shell(`echo $PPID > ${parentFile}; exit 4`));
    const exit = await run.exited;
    expect(exit).toMatchObject({ code: 4, signal: null });
    expect(run.pid).toBeGreaterThan(0);
    expect(helperPids()).toEqual([Number(readFileSync(parentFile, 'utf8'))]);
    rmSync(dirname(parentFile), { recursive: true });
  });

  it('a kill before the helper reported the pid is delivered once it does', async () => {
    make();
    const run = launcher.spawner(shell('sleep 30'));
    run.kill('SIGTERM');
    expect((await run.exited).signal).toBe('SIGTERM');
  });

  it('when the helper dies: scripts in progress are reported as not started, and the next script starts a new helper', async () => {
    make().start();
    const run = launcher.spawner(shell('sleep 30'));
    await waitFor(() => run.pid !== undefined);
    const [helper] = helperPids();
    process.kill(helper!, 'SIGKILL');
    const exit = await run.exited;
    expect(exit.code).toBeNull();
    expect(exit.spawnError?.message).toBe('script launcher exited (signal SIGKILL)');
    expect(warnings.at(-1)).toBe('script launcher exited (signal SIGKILL); 1 script(s) in progress reported as failed, the next script starts a new launcher');
    process.kill(-run.pid!, 'SIGKILL'); // the orphaned sleep
    expect((await launcher.spawner(shell('exit 0')).exited).code).toBe(0);
    expect(helperPids()).not.toContain(helper);
  });

  it('close(): the helper goes when its last script has exited; later scripts are refused', async () => {
    make().start();
    const run = launcher.spawner(shell('sleep 0.3'));
    await waitFor(() => run.pid !== undefined);
    launcher.close();
    expect(helperPids()).toHaveLength(1);
    expect((await run.exited).code).toBe(0);
    await waitFor(() => helperPids().length === 0);
    expect((await launcher.spawner(shell('exit 0')).exited).spawnError?.message).toBe('script launcher closed');
  });
});
