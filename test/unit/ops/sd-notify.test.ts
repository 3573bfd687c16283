import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier, loadDatagramSender } from '../../../src/daemon/process/sd-notify.js';

const listener = fileURLToPath(new URL('./fixtures/dgram-listen.py', import.meta.url));

interface Received {
  pid: number | null;
  data: string;
}

/** Starts the python listener and resolves once it is bound; `messages` resolves with `count` datagrams. */
async function listen(address: string, count: number): Promise<{ child: ChildProcess; messages: Promise<Received[]> }> {
  const child = spawn('python3', [listener, address, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const got: Received[] = [];
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const messages = new Promise<Received[]>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line === 'ready') return resolveReady();
      got.push(JSON.parse(line) as Received);
      if (got.length === count) resolve(got);
    });
    child.on('exit', (code) => (got.length < count ? reject(new Error(`listener exited ${code} after ${got.length}`)) : undefined));
  });
  await ready;
  return { child, messages };
}

describe('sd_notify', () => {
  let dir: string;
  beforeAll(() => {
    // The sender is the project's addon (build/Release/lvskeeper_net.node, built by `npm ci`): a
    // missing addon must fail here, since systemd would then never hear READY=1.
    expect(loadDatagramSender(), 'native addon not built: run npm ci / npx node-gyp rebuild').toBeDefined();
    dir = mkdtempSync(join(tmpdir(), 'lko-sdn-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is a no-op without NOTIFY_SOCKET', () => {
    let calls = 0;
    const n = createNotifier({ env: {}, send: () => void calls++ });
    expect(n.enabled).toBe(false);
    expect(n.ready()).toBe(false);
    expect(n.stopping('x')).toBe(false);
    expect(calls).toBe(0);
  });

  it('sends READY, RELOADING with MONOTONIC_USEC, STATUS and STOPPING to a socket path, from this pid', async () => {
    const path = join(dir, 'notify.sock');
    const { messages } = await listen(path, 4);
    const env: NodeJS.ProcessEnv = { NOTIFY_SOCKET: path };
    const n = createNotifier({ env, monotonicUsec: () => 123456789n });
    expect(env.NOTIFY_SOCKET).toBeUndefined(); // not inherited by children/scripts
    expect(n.enabled).toBe(true);
    expect(n.ready('2 instances, VI_1 MASTER')).toBe(true);
    expect(n.reloading()).toBe(true);
    expect(n.status('line1\nline2')).toBe(true);
    expect(n.stopping()).toBe(true);
    const got = await messages;
    expect(got.map((g) => g.data)).toEqual([
      'READY=1\nSTATUS=2 instances, VI_1 MASTER',
      'RELOADING=1\nMONOTONIC_USEC=123456789',
      'STATUS=line1 line2',
      'STOPPING=1',
    ]);
    for (const g of got) expect(g.pid).toBe(process.pid);
  });

  it('reaches an abstract socket (@name) and uses the real CLOCK_MONOTONIC', async () => {
    const name = `@lko-sdn-${process.pid}-${Date.now()}`;
    const { messages } = await listen(name, 1);
    const n = createNotifier({ env: { NOTIFY_SOCKET: name } });
    const before = process.hrtime.bigint() / 1000n;
    expect(n.reloading()).toBe(true);
    const [msg] = await messages;
    const m = /^RELOADING=1\nMONOTONIC_USEC=(\d+)$/.exec(msg!.data);
    expect(m).not.toBeNull();
    const usec = BigInt(m![1]!);
    expect(usec >= before && usec - before < 5_000_000n).toBe(true);
    expect(msg!.pid).toBe(process.pid);
  });

  it('reports a dead socket as a warning, never a throw', () => {
    const warnings: string[] = [];
    const n = createNotifier({ env: { NOTIFY_SOCKET: join(dir, 'nobody.sock') }, warn: (m) => warnings.push(m) });
    expect(loadDatagramSender()).toBeDefined();
    expect(n.ready()).toBe(false);
    expect(warnings.join('\n')).toMatch(/ENOENT/);
    const n2 = createNotifier({ env: { NOTIFY_SOCKET: '@lko-nobody-listens' }, warn: (m) => warnings.push(m) });
    expect(n2.ready()).toBe(false);
    expect(warnings.join('\n')).toMatch(/ECONNREFUSED/);
  });
});
