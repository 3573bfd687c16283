// CheckersRuntime against a fake kernel, a fake VRRP engine and an in-thread checker scheduler
// (serveCheckers on a MessageChannel with an injected probe): VRRP gating, adoption after kill -9,
// release at stop, -I, lvs_flush / lvs_timeouts / lvs_sync_daemon, no ip_vs.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/model.js';
import { serveCheckers } from '../../../src/check/worker.js';
import type { ProbeResult, ProbeSpec } from '../../../src/check/types.js';
import { attachCheckers, CheckersRuntime, type CheckerHost, type EngineView, type IpvsHandle } from '../../../src/daemon/checkers.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { serviceKeyId } from '../../../src/ipvs/reconcile.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { IpvsError, type ServiceEntry, type SyncDaemon, type Timeouts } from '../../../src/ipvs/types.js';
import type { VrrpState } from '../../../src/vrrp/state-machine.js';
import type { DaemonHooks } from '../../../src/daemon/run.js';
import type { IpvsStagedMessage } from '../../../src/daemon/process/messages.js';

// The hook fits runDaemon's onEngine seam (checked by tsc).
export const fitsOnEngine: DaemonHooks['onEngine'] = attachCheckers({ dontReleaseIpvs: false, vrrpOnly: false });

function config(text: string): Config {
  const r = parseConfig('/virtual/keepalived.conf', { readFile: (p) => (p === '/virtual/keepalived.conf' ? text : undefined) });
  return r.config;
}

class FakeKernel implements IpvsHandle {
  entries: ServiceEntry[] = [];
  timeouts: Timeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  daemons: SyncDaemon[] = [];
  flushes = 0;
  closed = false;
  /** Every request made: table reads and ops, in order (a reload of an unchanged file must add none). */
  requests: string[] = [];
  async getAll() {
    this.requests.push('getAll');
    return structuredClone(this.entries);
  }
  async apply(ops: readonly IpvsOp[]) {
    return ops.map((op) => {
      this.requests.push(op.op);
      const find = (k: Parameters<typeof serviceKeyId>[0]) => this.entries.find((e) => serviceKeyId(e.service.key) === serviceKeyId(k));
      switch (op.op) {
        case 'add-service':
          if (find(op.service.key)) return new IpvsError('add-service', 17, 'exists');
          this.entries.push({ service: op.service, destinations: [] });
          return undefined;
        case 'edit-service': {
          const e = find(op.service.key);
          if (e) e.service = op.service;
          return undefined;
        }
        case 'del-service':
          this.entries = this.entries.filter((e) => serviceKeyId(e.service.key) !== serviceKeyId(op.key));
          return undefined;
        case 'add-dest':
        case 'edit-dest': {
          const e = find(op.key);
          if (!e) return new IpvsError(op.op, 3, 'no service');
          e.destinations = e.destinations.filter((d) => d.address !== op.dest.address || d.port !== op.dest.port);
          e.destinations.push(op.dest);
          return undefined;
        }
        case 'del-dest': {
          const e = find(op.key);
          if (e) e.destinations = e.destinations.filter((d) => d.address !== op.dest.address || d.port !== op.dest.port);
          return undefined;
        }
        default:
          return undefined;
      }
    });
  }
  async flush() {
    this.requests.push('flush');
    this.flushes++;
    this.entries = [];
  }
  async setTimeouts(t: Timeouts) {
    this.requests.push('setTimeouts');
    this.timeouts = { tcp: t.tcp || this.timeouts.tcp, tcpFin: t.tcpFin || this.timeouts.tcpFin, udp: t.udp || this.timeouts.udp };
  }
  async startDaemon(d: SyncDaemon) {
    this.requests.push('startDaemon');
    this.daemons.push(d);
  }
  async stopDaemon(state: SyncDaemon['state']) {
    this.requests.push('stopDaemon');
    this.daemons = this.daemons.filter((d) => d.state !== state);
  }
  close() {
    this.closed = true;
  }
  // unused verbs
  getInfo = async () => ({ version: 0x010201, connTableSize: 4096 });
  getServices = async () => this.entries.map((e) => e.service);
  getService = async () => this.entries[0]!.service;
  getDestinations = async () => [];
  addService = async () => undefined;
  editService = async () => undefined;
  delService = async () => undefined;
  addDestination = async () => undefined;
  editDestination = async () => undefined;
  delDestination = async () => undefined;
  getTimeouts = async () => this.timeouts;
  getDaemons = async () => this.daemons;
  zero = async () => undefined;

  table(): string[] {
    return this.entries
      .map((e) => {
        const k = e.service.key;
        const head = k.kind === 'fwmark' ? `FWM ${k.fwmark}` : `${k.address}:${k.port}`;
        return `${head} ${e.destinations.map((d) => `${d.address}:${d.port}/${d.weight}`).sort().join(' ')}`.trim();
      })
      .sort();
  }
}

class FakeEngine implements EngineView {
  readonly instances = new Map<string, { state: VrrpState }>();
  private readonly listeners = new Set<(ev: { instance: string; to: VrrpState }) => void>();
  constructor(states: Record<string, VrrpState>) {
    for (const [n, s] of Object.entries(states)) this.instances.set(n, { state: s });
  }
  onStateChange(fn: (ev: { instance: string; to: VrrpState }) => void) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  set(instance: string, to: VrrpState) {
    this.instances.set(instance, { state: to });
    for (const l of this.listeners) l({ instance, to });
  }
}

/** Probes answer from `alive` (by connect address); `probed` records "address:port" of each probe. */
function inThreadHost(alive: Set<string>, probed: string[] = []): () => CheckerHost {
  return () => {
    const ch = new MessageChannel();
    const probe = async (spec: ProbeSpec): Promise<ProbeResult> => {
      const addr = 'target' in spec ? spec.target.address : '';
      if ('target' in spec) probed.push(`${addr}:${spec.target.port}`);
      return alive.has(addr) ? { ok: true, reason: 'ok' } : { ok: false, reason: 'connection refused' };
    };
    const detach = serveCheckers(ch.port2, { probe, random: () => 0 });
    ch.port1.unref();
    ch.port2.unref();
    return {
      port: ch.port1,
      onExit: () => undefined,
      terminate: async () => {
        detach();
        ch.port1.close();
      },
    };
  };
}

const LAB = `
global_defs { router_id T }
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 10
  priority 100
  advert_int 1
  virtual_ipaddress { 192.168.60.200 }
}
virtual_server 192.168.60.200 8080 {
  delay_loop 1
  lb_algo rr
  lb_kind DR
  protocol TCP
  real_server 192.168.60.121 8080 { weight 1
    TCP_CHECK { connect_timeout 1 retry 0 delay_before_retry 1 } }
  real_server 192.168.60.122 8080 { weight 1
    TCP_CHECK { connect_timeout 1 retry 0 delay_before_retry 1 } }
}
virtual_server 10.9.9.9 53 {
  delay_loop 1
  lb_algo wlc
  lb_kind NAT
  protocol UDP
  real_server 10.9.9.10 53 { weight 2 }
}
`;

async function until(cond: () => boolean, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const FOREIGN: ServiceEntry = {
  service: { key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.1.1.1', port: 80 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
  destinations: [{ family: 'inet', address: '10.1.1.2', port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
};

describe('CheckersRuntime', () => {
  const runtimes: CheckersRuntime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });

  function make(text: string, engine: EngineView | undefined, kernel: FakeKernel, alive: Set<string>, opts: { dontReleaseIpvs?: boolean } = {}) {
    const lines: Array<{ level: string; msg: string }> = [];
    const log = createMemoryLogger(lines as never);
    const probed: string[] = [];
    const rt = new CheckersRuntime(config(text), log, opts, { openIpvs: async () => kernel, startHost: inThreadHost(alive, probed), retryMs: 50 });
    runtimes.push(rt);
    return { rt, probed, lines: lines as unknown as Array<{ level: string; msg: string }>, start: () => rt.start(engine) };
  }

  it('installs a VIP virtual server only while its instance is MASTER; others always; foreign entries untouched', async () => {
    const kernel = new FakeKernel();
    kernel.entries.push(structuredClone(FOREIGN));
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const { rt, start } = make(LAB, engine, kernel, new Set(['192.168.60.121', '192.168.60.122']));
    await start();
    await until(() => kernel.table().some((l) => l.startsWith('10.9.9.9:53')));
    await rt.synced();
    expect(kernel.table()).toEqual(['10.1.1.1:80 10.1.1.2:80/1', '10.9.9.9:53 10.9.9.10:53/2']);

    engine.set('VI_1', 'MASTER');
    await until(() => kernel.table().length === 3);
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.122:8080/1');

    engine.set('VI_1', 'BACKUP');
    await until(() => kernel.table().length === 2);
    expect(kernel.table()).toEqual(['10.1.1.1:80 10.1.1.2:80/1', '10.9.9.9:53 10.9.9.10:53/2']);

    await rt.stop();
    expect(kernel.table()).toEqual(['10.1.1.1:80 10.1.1.2:80/1']);
    expect(kernel.closed).toBe(true);
  });

  it('ha_suspend without a VRRP gate (-C): checks run only while the address is on a local interface', async () => {
    const kernel = new FakeKernel();
    const text = `virtual_server 10.9.9.9 53 {\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  ha_suspend\n  real_server 10.9.9.10 53 {\n    TCP_CHECK { connect_timeout 1 }\n  }\n}\n`;
    const { rt, probed, start } = make(text, undefined, kernel, new Set(['10.9.9.10']));
    let local = false;
    rt.localInterfaces = () => ({ eth0: local ? [{ address: '10.9.9.9', family: 'IPv4', netmask: '255.255.255.0', mac: '', internal: false, cidr: null }] : [] });
    await start();
    await rt.synced();
    await new Promise((r) => setTimeout(r, 1500));
    expect(probed).toEqual([]);
    local = true;
    await until(() => probed.includes('10.9.9.10:53'), 5000);
  });

  it('an instance whose weight-0 track_script reads IPVS keeps its virtual server on every node (no FAULT deadlock)', async () => {
    const kernel = new FakeKernel();
    const engine = new FakeEngine({ VI_1: 'FAULT' });
    const text = LAB.replace('vrrp_instance VI_1 {', 'vrrp_script lvs_check {\n  script "grep -q TCP /proc/net/ip_vs"\n}\nvrrp_instance VI_1 {\n  track_script {\n    lvs_check\n  }');
    const { rt, start, lines } = make(text, engine, kernel, new Set(['192.168.60.121', '192.168.60.122', '10.9.9.10']));
    await start();
    await until(() => kernel.table().some((l) => l.startsWith('192.168.60.200:8080')));
    await rt.synced();
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.122:8080/1');
    expect(lines.some((l) => l.level === 'notice' && l.msg.startsWith('(VI_1) track_script lvs_check reads the IPVS tables'))).toBe(true);
  });

  it('a failing real server leaves the desired pool on the backup too, so a new master installs the right pool', async () => {
    const kernel = new FakeKernel();
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const { rt, start, lines } = make(LAB, engine, kernel, new Set(['192.168.60.122', '10.9.9.10']));
    await start();
    await until(() => lines.some((l) => l.msg.includes('Removing service [192.168.60.121]:tcp:8080')));
    expect(kernel.table().some((l) => l.startsWith('192.168.60.200'))).toBe(false);
    engine.set('VI_1', 'MASTER');
    await until(() => kernel.table().some((l) => l.startsWith('192.168.60.200')));
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.122:8080/1');
    await rt.synced();
    expect(lines.some((l) => l.msg.includes('virtual server [192.168.60.200]:tcp:8080 installed in IPVS'))).toBe(true);
  });

  it('lvs_program_on_all_nodes installs every virtual server on a backup', async () => {
    const kernel = new FakeKernel();
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const text = LAB.replace('router_id T', 'router_id T\n  lvs_program_on_all_nodes');
    expect(config(text).global.lvsProgramOnAllNodes).toBe(true);
    const { start } = make(text, engine, kernel, new Set(['192.168.60.121', '192.168.60.122']));
    await start();
    await until(() => kernel.table().length === 2);
    expect(kernel.table()[0]).toBe('10.9.9.9:53 10.9.9.10:53/2');
    expect(kernel.table()[1]).toBe('192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.122:8080/1');
  });

  it('adopts stale entries of its configuration after kill -9 (a backup removes its stale VIP service)', async () => {
    const kernel = new FakeKernel();
    kernel.entries.push(structuredClone(FOREIGN));
    // What a killed master left: the VIP service with a dead RS and a wrong weight.
    kernel.entries.push({
      service: { key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.60.200', port: 8080 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
      destinations: [{ family: 'inet', address: '192.168.60.123', port: 8080, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
    });
    kernel.entries.push({
      service: { key: { kind: 'addr', family: 'inet', protocol: 'udp', address: '10.9.9.9', port: 53 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
      destinations: [{ family: 'inet', address: '10.9.9.10', port: 53, forward: 'masq', weight: 7, upperThreshold: 0, lowerThreshold: 0 }],
    });
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const { rt, start } = make(LAB, engine, kernel, new Set(['10.9.9.10']));
    await start();
    await until(() => kernel.table().length === 2);
    await rt.synced();
    expect(kernel.table()).toEqual(['10.1.1.1:80 10.1.1.2:80/1', '10.9.9.9:53 10.9.9.10:53/2']);
    expect(kernel.entries.find((e) => e.service.key.kind === 'addr' && e.service.key.port === 53)?.service.scheduler).toBe('wlc');
  });

  it('-I leaves our entries at stop; lvs_flush_on_stop flushes everything', async () => {
    const kernel = new FakeKernel();
    const a = make(LAB, undefined, kernel, new Set(['192.168.60.121', '192.168.60.122']), { dontReleaseIpvs: true });
    await a.start();
    await until(() => kernel.table().length === 2);
    await a.rt.stop();
    expect(kernel.table().length).toBe(2);

    kernel.entries.push(structuredClone(FOREIGN));
    const b = make(LAB.replace('router_id T', 'router_id T\n  lvs_flush_on_stop'), undefined, kernel, new Set());
    await b.start();
    await b.rt.synced();
    await b.rt.stop();
    expect(kernel.table()).toEqual([]);
  });

  it('lvs_flush and lvs_timeouts at start; a sync daemon without an instance runs as backup here, one with an instance is left to the VRRP child', async () => {
    const kernel = new FakeKernel();
    kernel.entries.push(structuredClone(FOREIGN));
    const text = LAB.replace('router_id T', 'router_id T\n  lvs_flush\n  lvs_timeouts tcp 100 udp 30\n  lvs_sync_daemon eth0');
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const { rt, start } = make(text, engine, kernel, new Set());
    await start();
    expect(kernel.flushes).toBe(1);
    expect(kernel.table().some((l) => l.startsWith('10.1.1.1'))).toBe(false);
    expect(kernel.timeouts).toEqual({ tcp: 100, tcpFin: 120, udp: 30 });
    await until(() => kernel.daemons.length === 1);
    expect(kernel.daemons[0]).toMatchObject({ state: 'backup', mcastInterface: 'eth0', syncId: 0 });
    await rt.stop();
    expect(kernel.daemons).toEqual([]);

    // keepalived: lvs_sync_daemon naming an instance is driven by the VRRP process (daemon/ipvs-takeover.ts).
    const other = new FakeKernel();
    const withInstance = make(text.replace('lvs_sync_daemon eth0', 'lvs_sync_daemon eth0 VI_1'), engine, other, new Set());
    await withInstance.start();
    engine.set('VI_1', 'MASTER');
    await withInstance.rt.synced();
    await new Promise((r) => setTimeout(r, 100));
    expect(other.daemons).toEqual([]);
    await withInstance.rt.stop();
    // With -C (no VRRP engine) the checker runs it, as backup.
    const checkOnly = make(text.replace('lvs_sync_daemon eth0', 'lvs_sync_daemon eth0 VI_1'), undefined, other, new Set());
    await checkOnly.start();
    await until(() => other.daemons.length === 1);
    expect(other.daemons[0]).toMatchObject({ state: 'backup', syncId: 10 });
    await checkOnly.rt.stop();
  });

  it('stages the rows of MASTER-gated virtual servers for the VRRP child: all at first, then only what changed', async () => {
    const kernel = new FakeKernel();
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const alive = new Set(['192.168.60.121', '192.168.60.122', '10.9.9.10']);
    const staged: IpvsStagedMessage[] = [];
    const rt = new CheckersRuntime(config(LAB), createMemoryLogger(), {}, {
      openIpvs: async () => kernel,
      startHost: inThreadHost(alive),
      retryMs: 50,
      onStaged: (m) => void staged.push(structuredClone(m)),
    });
    runtimes.push(rt);
    await rt.start(engine);
    const destsIn = (m: IpvsStagedMessage | undefined) =>
      (m?.services[0]?.ops ?? []).flatMap((op) => (op.op === 'add-dest' ? [`${op.dest.address}:${op.dest.port}/${op.dest.weight}`] : [])).sort();
    await until(() => destsIn(staged.at(-1)).length === 2);
    // Only the VIP's virtual server, owned by VI_1, as add-service + add-dest ops; never the ungated one.
    expect(staged[0]).toMatchObject({ type: 'ipvs-staged', reset: true });
    const last = staged.at(-1)!;
    expect(last.services.map((s) => [s.id, s.owners])).toEqual([['tcp/inet/192.168.60.200/8080', ['VI_1']]]);
    expect(last.services[0]!.ops.map((o) => o.op)).toEqual(['add-service', 'add-dest', 'add-dest']);
    expect(destsIn(last)).toEqual(['192.168.60.121:8080/1', '192.168.60.122:8080/1']);
    // On the backup nothing of it is in the kernel: the VRRP child installs it at a takeover.
    expect(kernel.table().some((l) => l.startsWith('192.168.60.200'))).toBe(false);

    // A real server fails: one delta with the pool as it is now.
    const count = staged.length;
    alive.delete('192.168.60.121');
    await until(() => staged.length > count && destsIn(staged.at(-1)).length === 1);
    expect(staged.at(-1)!.reset).toBeUndefined();
    expect(destsIn(staged.at(-1))).toEqual(['192.168.60.122:8080/1']);

    // A reload that drops the virtual server unstages it.
    await rt.reload(config(LAB.replace('virtual_server 192.168.60.200 8080', 'virtual_server 192.168.60.201 8080')));
    await until(() => staged.some((m) => m.services.some((s) => s.id === 'tcp/inet/192.168.60.200/8080' && s.owners.length === 0)));
  });

  it("never deletes gated rows the VRRP child installed at a takeover it has not reported yet; removes them once it leaves MASTER", async () => {
    const kernel = new FakeKernel();
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const alive = new Set(['192.168.60.121', '192.168.60.122', '10.9.9.10']);
    const { rt, start } = make(LAB, engine, kernel, alive);
    await start();
    await until(() => kernel.table().some((l) => l.startsWith('10.9.9.9')));
    await rt.synced();
    // The VRRP child, MASTER a moment ago, installed the staged rows; this side still believes BACKUP.
    const vip: ServiceEntry = {
      service: { key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.60.200', port: 8080 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
      destinations: [{ family: 'inet', address: '192.168.60.121', port: 8080, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
    };
    kernel.entries.push(structuredClone(vip));
    alive.delete('192.168.60.122'); // a health change asks for a sync meanwhile
    await rt.synced();
    await new Promise((r) => setTimeout(r, 200));
    await rt.synced();
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.121:8080/1');
    // The MASTER state arrives: adopted in place. Leaving MASTER: removed.
    engine.set('VI_1', 'MASTER');
    await rt.synced();
    expect(kernel.table().some((l) => l.startsWith('192.168.60.200:8080 192.168.60.121:8080/1'))).toBe(true);
    engine.set('VI_1', 'BACKUP');
    await until(() => !kernel.table().some((l) => l.startsWith('192.168.60.200')));
  });

  it('reload: a removed virtual server leaves IPVS, a new one appears, a failed real server is not re-added', async () => {
    const kernel = new FakeKernel();
    const alive = new Set(['192.168.60.122', '10.9.9.10']);
    const { rt, start } = make(LAB, undefined, kernel, alive);
    await start();
    await until(() => kernel.table().includes('192.168.60.200:8080 192.168.60.122:8080/1'));
    const next = LAB.replace('virtual_server 10.9.9.9 53', 'virtual_server 10.9.9.8 53');
    await rt.reload(config(next));
    await until(() => kernel.table().some((l) => l.startsWith('10.9.9.8:53')) && !kernel.table().some((l) => l.startsWith('10.9.9.9:53')));
    await rt.synced();
    expect(kernel.table()).toEqual(['10.9.9.8:53 10.9.9.10:53/2', '192.168.60.200:8080 192.168.60.122:8080/1']);
  });

  it('without ip_vs: one clear error, checkers still run, nothing throws', async () => {
    const lines: Array<{ level: string; msg: string }> = [];
    const log = createMemoryLogger(lines as never);
    const hook = attachCheckers(
      { dontReleaseIpvs: false, vrrpOnly: false },
      {
        openIpvs: async () => {
          throw new Error('Protocol not available');
        },
        startHost: inThreadHost(new Set()),
      },
    );
    await hook(new FakeEngine({ VI_1: 'MASTER' }), config(LAB), log);
    await until(() => lines.some((l) => l.msg.includes('Removing service [192.168.60.121]:tcp:8080')));
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors.map((l) => l.msg)).toEqual(["IPVS: Can't initialize ipvs: Protocol not available - virtual servers will not be programmed"]);
    await hook.stop();
  });
});

// SIGHUP reload (lvskeeper issue #6): a diff applied through the one reconciler, never a restart.
const VI_2 = `
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 11
  priority 100
  advert_int 1
  virtual_ipaddress { 10.9.9.9 }
}
`;

/** LAB with a 60 s delay_loop: after the first round, any probe seen was caused by the reload. */
const RELOAD = LAB.replaceAll('delay_loop 1', 'delay_loop 60');

describe('CheckersRuntime.reload', () => {
  const runtimes: CheckersRuntime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
  });

  function make(text: string, engine: EngineView | undefined, kernel: FakeKernel, alive: Set<string>) {
    const lines: Array<{ level: string; msg: string }> = [];
    const log = createMemoryLogger(lines as never);
    const probed: string[] = [];
    const rt = new CheckersRuntime(config(text), log, {}, { openIpvs: async () => kernel, startHost: inThreadHost(alive, probed), retryMs: 50 });
    runtimes.push(rt);
    /** Counters now; `since()` returns what happened after. */
    const mark = () => {
      const at = { requests: kernel.requests.length, probes: probed.length, lines: lines.length };
      return {
        requests: () => kernel.requests.slice(at.requests),
        ops: () => kernel.requests.slice(at.requests).filter((r) => r !== 'getAll').sort(),
        probes: () => probed.slice(at.probes),
        lines: () => lines.slice(at.lines).map((l) => l.msg),
      };
    };
    /** Let the worker's answers and the reconciler settle (without asking for a sync: that reads the kernel). */
    const settle = async () => {
      await new Promise((r) => setTimeout(r, 150));
    };
    return { rt, mark, settle, start: () => rt.start(engine) };
  }

  /** RELOAD on a MASTER: .121 passes its check, .122 fails it (out of the pool); settled. */
  async function masterWith121UpAnd122Down() {
    const kernel = new FakeKernel();
    const t = make(RELOAD, new FakeEngine({ VI_1: 'MASTER' }), kernel, new Set(['192.168.60.121', '10.9.9.10']));
    await t.start();
    await until(() => kernel.table().includes('192.168.60.200:8080 192.168.60.121:8080/1'));
    await t.settle();
    return { kernel, t };
  }

  it('an unchanged file: zero IPVS requests, no probe restarted, nothing logged; a down real server stays down', async () => {
    const { kernel, t } = await masterWith121UpAnd122Down();
    const since = t.mark();
    await t.rt.reload(config(RELOAD));
    await t.settle();
    expect(since.requests()).toEqual([]);
    expect(since.probes()).toEqual([]);
    expect(since.lines()).toEqual([]);
    expect(kernel.table()).toEqual(['10.9.9.9:53 10.9.9.10:53/2', '192.168.60.200:8080 192.168.60.121:8080/1']);
  });

  it('a weight change is one edit-dest, a scheduler change one edit-service: no delete, no add', async () => {
    const kernel = new FakeKernel();
    const t = make(RELOAD, new FakeEngine({ VI_1: 'MASTER' }), kernel, new Set(['192.168.60.121', '192.168.60.122', '10.9.9.10']));
    await t.start();
    await until(() => kernel.table().includes('192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.122:8080/1'));
    await t.settle();
    const since = t.mark();
    const next = RELOAD.replace('real_server 192.168.60.121 8080 { weight 1', 'real_server 192.168.60.121 8080 { weight 5').replace('lb_algo rr', 'lb_algo wrr');
    await t.rt.reload(config(next));
    await t.settle();
    expect(since.ops()).toEqual(['edit-dest', 'edit-service']);
    expect(since.probes()).toEqual([]);
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.121:8080/5 192.168.60.122:8080/1');
    expect(kernel.entries.find((e) => e.service.key.kind === 'addr' && e.service.key.port === 8080)?.service.scheduler).toBe('wrr');
    expect(since.lines()).toEqual(
      expect.arrayContaining([
        'Reload: virtual server [192.168.60.200]:tcp:8080 changed (lb_algo rr -> wrr)',
        'Changing weight from 1 to 5 for active service [192.168.60.121]:tcp:8080 of VS [192.168.60.200]:tcp:8080',
      ]),
    );
  });

  it('real and virtual servers added and removed (through the hook): only their own adds and deletes', async () => {
    const kernel = new FakeKernel();
    const probed: string[] = [];
    const hook = attachCheckers(
      { dontReleaseIpvs: false, vrrpOnly: false },
      { openIpvs: async () => kernel, startHost: inThreadHost(new Set(['192.168.60.121', '192.168.60.122', '192.168.60.123', '10.9.9.10']), probed) },
    );
    const log = createMemoryLogger([] as never);
    await hook(new FakeEngine({ VI_1: 'MASTER' }), config(RELOAD), log);
    await until(() => kernel.table().length === 2 && kernel.table()[1]!.includes('192.168.60.122'));
    await hook.runtime()?.synced();
    const before = kernel.requests.length;
    const probesBefore = probed.length;
    const next = RELOAD.replace('real_server 192.168.60.122 8080', 'real_server 192.168.60.123 8080').replace('virtual_server 10.9.9.9 53', 'virtual_server 10.9.9.8 53');
    await hook.reload(config(next));
    await new Promise((r) => setTimeout(r, 100));
    await hook.runtime()?.synced();
    expect(kernel.requests.slice(before).filter((r) => r !== 'getAll').sort()).toEqual(['add-dest', 'add-dest', 'add-service', 'del-dest', 'del-service']);
    expect(kernel.table()).toEqual(['10.9.9.8:53 10.9.9.10:53/2', '192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.123:8080/1']);
    expect(probed.slice(probesBefore)).toEqual(['192.168.60.123:8080']); // only the new checker
    await hook.stop();
  });

  it('a changed checker restarts alone; its real server keeps its state (down stays out, up stays in)', async () => {
    const { kernel, t } = await masterWith121UpAnd122Down();
    const since = t.mark();
    // .121 (up) gets alpha: a fresh alpha checker would take it out until it succeeds.
    // .122 (down) gets another port: a fresh checker without alpha would put it in until it fails.
    const next = RELOAD.replace(
      'real_server 192.168.60.121 8080 { weight 1\n    TCP_CHECK { connect_timeout 1',
      'real_server 192.168.60.121 8080 { weight 1\n    TCP_CHECK { alpha\n connect_timeout 1',
    ).replace('real_server 192.168.60.122 8080 { weight 1\n    TCP_CHECK { connect_timeout 1', 'real_server 192.168.60.122 8080 { weight 1\n    TCP_CHECK { connect_port 8081 connect_timeout 1');
    expect(next).not.toBe(RELOAD);
    await t.rt.reload(config(next));
    await until(() => since.probes().length === 2);
    await t.settle();
    expect(since.probes().sort()).toEqual(['192.168.60.121:8080', '192.168.60.122:8081']);
    expect(since.ops()).toEqual([]);
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.121:8080/1');
  });

  it('instances added or removed by a reload move the VIP gating of their virtual servers', async () => {
    const kernel = new FakeKernel();
    const engine = new FakeEngine({ VI_1: 'BACKUP' });
    const t = make(RELOAD, engine, kernel, new Set(['192.168.60.121', '192.168.60.122', '10.9.9.10']));
    await t.start();
    await until(() => kernel.table().length === 1);
    await t.settle();
    expect(kernel.table()).toEqual(['10.9.9.9:53 10.9.9.10:53/2']);

    // VI_2 (added on the VRRP side first) now holds 10.9.9.9 as BACKUP: its virtual server leaves this node.
    let since = t.mark();
    engine.instances.set('VI_2', { state: 'BACKUP' });
    await t.rt.reload(config(RELOAD + VI_2));
    await t.settle();
    expect(kernel.table()).toEqual([]);
    expect(since.ops()).toEqual(['del-service']);
    expect(since.lines()).toContain('Reload: virtual servers on 10.9.9.9 are now installed only while (VI_2) is MASTER (were on every node)');
    engine.set('VI_2', 'MASTER');
    await until(() => kernel.table().length === 1);

    // VI_1 removed: nothing gates 192.168.60.200 any more, so it is installed on this node too.
    since = t.mark();
    const withoutVi1 = RELOAD.replace(/vrrp_instance VI_1 \{[^}]*\{[^}]*\}\s*\}/, '') + VI_2;
    expect(withoutVi1).not.toContain('VI_1');
    await t.rt.reload(config(withoutVi1));
    await t.settle();
    expect(kernel.table()).toEqual(['10.9.9.9:53 10.9.9.10:53/2', '192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.122:8080/1']);
    expect(since.lines()).toContain('Reload: virtual servers on 192.168.60.200 are now installed on every node (were only while (VI_1) is MASTER)');
  });

  it('lvs_flush is not run again; lvs_timeouts and lvs_sync_daemon follow the new file; unchanged ones cost nothing', async () => {
    const kernel = new FakeKernel();
    const base = RELOAD.replace('router_id T', 'router_id T\n  lvs_flush\n  lvs_timeouts tcp 100 udp 30\n  lvs_sync_daemon eth0');
    const t = make(base, new FakeEngine({ VI_1: 'BACKUP' }), kernel, new Set(['10.9.9.10']));
    await t.start();
    await until(() => kernel.daemons.length === 1 && kernel.table().length === 1);
    await t.settle();
    let since = t.mark();
    await t.rt.reload(config(base));
    await t.settle();
    expect(since.requests()).toEqual([]);

    since = t.mark();
    await t.rt.reload(config(base.replace('tcp 100', 'tcp 200').replace('lvs_sync_daemon eth0', 'lvs_sync_daemon eth1')));
    await until(() => kernel.daemons[0]?.mcastInterface === 'eth1');
    await t.settle();
    expect(kernel.flushes).toBe(1);
    expect(kernel.timeouts.tcp).toBe(200);
    expect(kernel.daemons).toEqual([expect.objectContaining({ state: 'backup', mcastInterface: 'eth1', syncId: 0 })]);
    expect(since.requests()).toEqual(['setTimeouts', 'stopDaemon', 'startDaemon']);

    await t.rt.reload(config(RELOAD));
    await until(() => kernel.daemons.length === 0);
    expect(kernel.flushes).toBe(1);
  });

  it('quorum and the sorry server follow the new numbers in the kernel', async () => {
    const kernel = new FakeKernel();
    // The parser caps quorum at the total weight (2): with .122 down the live weight is 1.
    const withSorry = (quorum: number) => RELOAD.replace('lb_algo rr\n', `lb_algo rr\n  quorum ${quorum}\n  sorry_server 192.168.60.99 8080\n`);
    expect(config(withSorry(2)).virtualServers[0]?.quorum).toBe(2);
    const t = make(withSorry(1), new FakeEngine({ VI_1: 'MASTER' }), kernel, new Set(['192.168.60.121', '10.9.9.10']));
    await t.start();
    await until(() => kernel.table().includes('192.168.60.200:8080 192.168.60.121:8080/1'));
    await t.settle();
    const since = t.mark();
    await t.rt.reload(config(withSorry(2)));
    await t.settle();
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.99:8080/1');
    expect(since.lines()).toContain('Lost quorum 2-0=2 > 1 for VS [192.168.60.200]:tcp:8080');
    await t.rt.reload(config(withSorry(1)));
    await t.settle();
    expect(kernel.table()).toContain('192.168.60.200:8080 192.168.60.121:8080/1');
  });

  it('a SIGHUP during start waits for it (one worker), and back-to-back reloads apply in order', async () => {
    const kernel = new FakeKernel();
    let hosts = 0;
    const host = inThreadHost(new Set(['192.168.60.121', '192.168.60.122', '10.9.9.10']));
    const rt = new CheckersRuntime(config(RELOAD), createMemoryLogger([] as never), {}, {
      openIpvs: async () => kernel,
      startHost: () => {
        hosts++;
        return host();
      },
    });
    runtimes.push(rt);
    const starting = rt.start(new FakeEngine({ VI_1: 'MASTER' }));
    const first = rt.reload(config(RELOAD.replace('virtual_server 10.9.9.9 53', 'virtual_server 10.9.9.8 53')));
    const second = rt.reload(config(RELOAD.replace('virtual_server 10.9.9.9 53', 'virtual_server 10.9.9.7 53')));
    await Promise.all([starting, first, second]);
    await until(() => kernel.table().some((l) => l.startsWith('10.9.9.7:53')));
    await rt.synced();
    expect(hosts).toBe(1);
    expect(kernel.table()).toEqual(['10.9.9.7:53 10.9.9.10:53/2', '192.168.60.200:8080 192.168.60.121:8080/1 192.168.60.122:8080/1']);
  });
});

describe.skipIf(process.getuid?.() !== 0)('CheckersRuntime: MISC_CHECK scripts', () => {
  it('an unsafe misc_path is refused at load with its file:line, and checked again at reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-checkers-misc-'));
    const script = join(dir, 'check.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n');
    chmodSync(script, 0o777);
    const text = `global_defs {\n  enable_script_security\n}\nvirtual_server 10.0.0.1 80 {\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  real_server 10.0.1.1 80 {\n    MISC_CHECK {\n      misc_path "${script} --port 80"\n      user root\n    }\n  }\n}\n`;
    const miscLine = text.split('\n').findIndex((l) => l.includes('MISC_CHECK')) + 1;
    const probed: ProbeSpec[] = [];
    const host = (): CheckerHost => {
      const ch = new MessageChannel();
      const detach = serveCheckers(ch.port2, { probe: async (spec) => (probed.push(spec), { ok: true, reason: 'ok' }), random: () => 0 });
      ch.port1.unref();
      ch.port2.unref();
      return { port: ch.port1, onExit: () => undefined, terminate: async () => (detach(), ch.port1.close()) };
    };
    const lines: Array<{ msg: string }> = [];
    const rt = new CheckersRuntime(config(text), createMemoryLogger(lines as never), {}, { openIpvs: async () => new FakeKernel(), startHost: host });
    try {
      await rt.start();
      expect(lines.map((l) => l.msg)).toContain(
        `/virtual/keepalived.conf:${miscLine}: Disabling misc script ${script} --port 80 due to insecure: Unsafe permissions found for script '${script}' - disabling.`,
      );
      await new Promise((r) => setTimeout(r, 100));
      expect(probed).toEqual([]);
      chmodSync(script, 0o755); // fixed: the next load runs it
      await rt.reload(config(text));
      await until(() => probed.length > 0);
      expect(probed[0]).toMatchObject({ type: 'MISC_CHECK', script: { command: { file: script, args: ['--port', '80'] }, runAs: { uid: 0 } } });
    } finally {
      await rt.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
