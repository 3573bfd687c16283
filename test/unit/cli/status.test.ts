// `lvskeeper status` against a real control socket served by startControlServer with fake handlers:
// the text and JSON forms, --watch, exit codes for scripts, the socket's path and permissions, and a
// stopped daemon answered with one line.
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderStatus, runStatus, STATUS_NOT_RUNNING, STATUS_OK, STATUS_USAGE } from '../../../src/cli/status.js';
import { controlSocketPath, startControlServer, type ControlServer, type WatchEvent } from '../../../src/daemon/process/control.js';
import { STATUS_SCHEMA, type StatusSnapshot } from '../../../src/daemon/status/model.js';

const T0 = Date.parse('2026-12-07T03:00:00Z');

export const SNAPSHOT: StatusSnapshot = {
  schema: STATUS_SCHEMA,
  at: T0,
  daemon: { pid: 4242, version: '0.1.0', configFile: '/etc/keepalived/keepalived.conf', routerId: 'lb01', startedAt: T0 - 3_600_000, reloads: { ok: 2, refused: 1 }, childRespawns: { vrrp: 0, checker: 1 } },
  instances: [
    {
      name: 'VI_1',
      vrid: 51,
      family: 'inet',
      interface: 'eth0',
      state: 'BACKUP',
      since: T0 - 65_000,
      basePriority: 150,
      effectivePriority: 130,
      priorityChanges: [{ tracker: 'track_script chk_lvs', delta: -20 }],
      masterAddress: '192.168.60.112',
      vips: ['192.168.60.200'],
      vipsPresent: false,
      lastTransition: { from: 'MASTER', to: 'BACKUP', reason: 'higher priority 150 from 192.168.60.112', at: T0 - 65_000 },
      counters: { advertRcvd: 10, advertSent: 3, becomeMaster: 1, releaseMaster: 1, packetLenErr: 0, ipTtlErr: 0, invalidTypeRcvd: 0, advertIntervalErr: 0, addrListErr: 0, invalidAuthType: 0, authTypeMismatch: 0, authFailure: 0, priZeroRcvd: 0, priZeroSent: 0 },
      lateTimers: 0,
      splitBrainEvents: 0,
    },
  ],
  syncGroups: [],
  trackers: [{ kind: 'script', name: 'chk_lvs', result: 'bad' }],
  virtualServers: [
    {
      label: '[192.168.60.200]:tcp:80',
      protocol: 'tcp',
      address: '192.168.60.200',
      port: 80,
      quorumUp: true,
      programmedHere: false,
      why: 'VI_1 BACKUP: installed only on the MASTER',
      realServers: [
        { address: '192.168.60.121', port: 80, alive: true, since: T0 - 600_000, kernelWeight: undefined, checkers: 1, checkersFailing: 0 },
        { address: '192.168.60.122', port: 80, alive: false, since: T0 - 30_000, lastError: 'connection refused', checkers: 1, checkersFailing: 1 },
      ],
    },
  ],
};

let dir = '';
let server: ControlServer | undefined;
const watchers = new Set<(ev: WatchEvent) => void>();

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), now: () => T0 } };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lvsk-control-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  watchers.clear();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(path = join(dir, 'run', 'control')): Promise<string> {
  server = await startControlServer(
    path,
    {
      status: async () => SNAPSHOT,
      subscribe: (fn) => {
        watchers.add(fn);
        return () => watchers.delete(fn);
      },
    },
    { warn: () => undefined },
  );
  return path;
}

describe('control socket path', () => {
  it('follows the pid file: default, -s namespace, -p elsewhere', () => {
    expect(controlSocketPath('/run/lvskeeper.pid')).toBe('/run/lvskeeper/control');
    expect(controlSocketPath('/run/lvskeeper/blue/lvskeeper.pid')).toBe('/run/lvskeeper/blue/control');
    expect(controlSocketPath('/tmp/lb1/lb1.pid')).toBe('/tmp/lb1/lb1.control');
  });
});

describe('lvskeeper status', () => {
  it('prints who is MASTER and why, in a few lines; the socket is 0600', async () => {
    const path = await serve();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const r = io();
    expect(await runStatus(['--control', path], r.io)).toBe(STATUS_OK);
    const text = r.out.join('');
    expect(text).toContain('lvskeeper 0.1.0, pid 4242, up 1h00m, /etc/keepalived/keepalived.conf (router_id lb01); reloads 2 ok, 1 refused');
    expect(text).toContain('  VI_1: BACKUP for 1m05s, vrid 51 on eth0, priority 130 (base 150: track_script chk_lvs -20)');
    expect(text).toContain('    master 192.168.60.112; VIPs 192.168.60.200 not here');
    expect(text).toContain('    last change 1m05s ago: MASTER -> BACKUP, higher priority 150 from 192.168.60.112');
    expect(text).toContain('  [192.168.60.200]:tcp:80: not in IPVS here (VI_1 BACKUP: installed only on the MASTER), quorum up');
    expect(text).toContain('    192.168.60.122:80 FAILED for 30s: connection refused, not in IPVS');
    expect(text.split('\n').length).toBeLessThan(15);
  });

  it('--json gives the snapshot itself', async () => {
    const path = await serve();
    const r = io();
    expect(await runStatus(['--json', '--control', path], r.io)).toBe(STATUS_OK);
    expect(JSON.parse(r.out.join(''))).toEqual(JSON.parse(JSON.stringify(SNAPSHOT)));
  });

  it('--watch streams events as lines until the daemon closes', async () => {
    const path = await serve();
    const r = io();
    const done = runStatus(['--watch', '--control', path], r.io);
    for (let i = 0; i < 200 && watchers.size === 0; i++) await new Promise((res) => setTimeout(res, 5));
    for (const w of watchers) w({ at: T0, kind: 'state', instance: 'VI_1', from: 'BACKUP', to: 'MASTER', reason: 'master down timer', text: 'VI_1 BACKUP -> MASTER (master down timer)' });
    for (let i = 0; i < 200 && r.out.length === 0; i++) await new Promise((res) => setTimeout(res, 5));
    await server?.close();
    server = undefined;
    expect(await done).toBe(STATUS_OK);
    expect(r.out.join('')).toMatch(/^\d\d:\d\d:\d\d\.\d{3} VI_1 BACKUP -> MASTER \(master down timer\)\n$/);
  });

  it('a stopped daemon: one line and exit 3; bad options: usage and exit 2', async () => {
    const r = io();
    expect(await runStatus(['--control', join(dir, 'nothing')], r.io)).toBe(STATUS_NOT_RUNNING);
    expect(r.err.join('')).toBe(`lvskeeper is not running (no daemon listening on ${join(dir, 'nothing')})\n`);
    const u = io();
    expect(await runStatus(['--bogus'], u.io)).toBe(STATUS_USAGE);
    expect(u.err.join('')).toMatch(/^lvskeeper status: Unknown option '--bogus'/);
  });

  it("a daemon's leftover socket is replaced; a file or symlink in its place is refused", async () => {
    const path = await serve();
    await server?.close();
    server = undefined;
    await serve(path); // works again
    await server!.close();
    server = undefined;
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    await expect(serve(file)).rejects.toThrow(/exists and is not a socket/);
    const link = join(dir, 'link');
    symlinkSync(join(dir, 'run', 'control'), link);
    await expect(serve(link)).rejects.toThrow(/exists and is not a socket/);
  });

  it('renders an instance in FAULT because of a weight-0 tracker', () => {
    const s: StatusSnapshot = { ...SNAPSHOT, instances: [{ ...SNAPSHOT.instances[0]!, state: 'FAULT', priorityChanges: [{ tracker: 'track_interface eth1', delta: null }] }] };
    expect(renderStatus(s, T0)).toContain('(base 150: track_interface eth1 FAULT)');
  });
});

describe('docs/status.schema.json', () => {
  it('validates a snapshot, and refuses one with a renamed field', async () => {
    const { Ajv } = await import('ajv');
    const schema = JSON.parse(readFileSync(new URL('../../../docs/status.schema.json', import.meta.url), 'utf8')) as object;
    const validate = new Ajv({ allErrors: true }).compile(schema);
    expect(validate(JSON.parse(JSON.stringify(SNAPSHOT))), JSON.stringify(validate.errors)).toBe(true);
    const renamed = JSON.parse(JSON.stringify(SNAPSHOT)) as { instances: Array<Record<string, unknown>> };
    delete renamed.instances[0]!.effectivePriority;
    expect(validate(renamed)).toBe(false);
  });
});
