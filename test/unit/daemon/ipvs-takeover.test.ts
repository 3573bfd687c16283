// The VRRP child's IPVS work at a takeover (daemon/ipvs-takeover.ts) against a fake IPVS: staged
// virtual servers installed for their instance only, errors and a silent kernel never hold the VIPs
// back, and the sync daemon in keepalived's order.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/model.js';
import { IpvsTakeover, type TakeoverIpvs } from '../../../src/daemon/ipvs-takeover.js';
import type { SyncBindingIo } from '../../../src/daemon/sync-binding.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import type { StagedService } from '../../../src/daemon/process/messages.js';
import { planChanges } from '../../../src/ipvs/reconcile.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { IpvsError, type ServiceEntry, type SyncDaemon } from '../../../src/ipvs/types.js';

function config(text: string): Config {
  return parseConfig('/virtual/keepalived.conf', { readFile: () => text }).config;
}

const CONF = (global = '') => `
global_defs {
  router_id T
  ${global}
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 10
  priority 100
  virtual_ipaddress { 192.168.60.200 }
}
vrrp_instance VI_2 {
  state BACKUP
  interface eth0
  virtual_router_id 11
  priority 100
  virtual_ipaddress { 192.168.60.201 }
}
`;

function entry(address: string, reals: string[]): ServiceEntry {
  return {
    service: { key: { kind: 'addr', family: 'inet', protocol: 'tcp', address, port: 80 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
    destinations: reals.map((r) => ({ family: 'inet' as const, address: r, port: 80, forward: 'route' as const, weight: 1, upperThreshold: 0, lowerThreshold: 0 })),
  };
}

function staged(owner: string, address: string, reals: string[]): StagedService {
  return { id: `tcp/inet/${address}/80`, owners: [owner], ops: planChanges([entry(address, reals)], []) };
}

class FakeIpvs implements TakeoverIpvs {
  /** Every call in order: "add-service 192.168.60.200", "start master", "stop backup". */
  calls: string[] = [];
  refuse: (op: IpvsOp) => IpvsError | undefined = () => undefined;
  /** While set, apply() never answers (a kernel that does not reply). */
  silent = false;
  daemons: SyncDaemon[] = [];
  closed = false;
  async apply(ops: readonly IpvsOp[]) {
    for (const op of ops) this.calls.push(op.op === 'add-service' ? `add-service ${op.service.key.kind === 'addr' ? op.service.key.address : ''}` : op.op);
    if (this.silent) return new Promise<Array<IpvsError | undefined>>(() => undefined);
    return ops.map((op) => this.refuse(op));
  }
  async startDaemon(d: SyncDaemon) {
    this.calls.push(`start ${d.state} ${d.mcastInterface} ${d.syncId}`);
    this.daemons.push(d);
  }
  async stopDaemon(state: SyncDaemon['state']) {
    this.calls.push(`stop ${state}`);
    this.daemons = this.daemons.filter((d) => d.state !== state);
  }
  close() {
    this.closed = true;
  }
}

/** Waits (a few seconds at most) for the sync daemon's switch to master, which runs after the binding. */
async function masterStarted(ipvs: FakeIpvs): Promise<void> {
  for (let i = 0; i < 500 && !ipvs.calls.some((c) => c.startsWith('start master')); i++) await new Promise((r) => setTimeout(r, 10));
}

/** Records what each binding read and sent, in the fake IPVS's call log. */
function bindingIo(ipvs: FakeIpvs, dropping = false) {
  return (): SyncBindingIo => ({
    readSynced: async () => {
      ipvs.calls.push('read synced');
      return 'TCP C0A83C0A D431 C0A83CC8 0050 0A000001 0050 ESTABLISHED SYNC 893\nTCP C0A83C0A D432 C0A83CC9 0050 0A000003 0050 ESTABLISHED SYNC 893';
    },
    mtu: () => 1500,
    send: async (datagrams, target) => {
      ipvs.calls.push(`send ${datagrams.map((d) => d[4]).join('+')} to ${target.group}:${target.port} on ${target.ifname}`);
    },
    // A daemon that reads what it is sent, or one whose full buffer drops all of it.
    receiveQueue: async () => ({ queued: 0, drops: dropping ? ipvs.calls.filter((c) => c.startsWith('send')).length : 0 }),
    pause: () => new Promise((r) => setTimeout(r, 1)),
    now: () => performance.now(),
  });
}

function make(ipvs: FakeIpvs | (() => Promise<TakeoverIpvs>), waitMs = 50) {
  const log = createMemoryLogger();
  const syncIo = typeof ipvs === 'function' ? undefined : bindingIo(ipvs);
  const takeover = new IpvsTakeover(log, { open: typeof ipvs === 'function' ? ipvs : async () => ipvs, waitMs, syncIo, bindingWaitMs: 30 });
  const lines = () => log.lines.map((l) => `${l.level} ${l.msg}`);
  return { takeover, lines };
}

describe('IpvsTakeover', () => {
  it("installs the staged virtual servers of the instance becoming MASTER, only its own, then says so once the VIPs are in", async () => {
    const ipvs = new FakeIpvs();
    const { takeover, lines } = make(ipvs);
    takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1', '10.0.0.2']), staged('VI_2', '192.168.60.201', ['10.0.0.3'])] });
    await takeover.beforeVipsAdded('VI_1');
    expect(ipvs.calls).toEqual(['add-service 192.168.60.200', 'add-dest', 'add-dest']);
    expect(lines().some((l) => l.includes('ready in IPVS'))).toBe(false); // not before the VIPs
    takeover.afterVipsAdded('VI_1');
    expect(lines()).toEqual([expect.stringMatching(/^info \(VI_1\) 1 virtual server ready in IPVS before the VIPs \(\d+\.\d ms\)$/)]);

    // A delta replaces a service's rows; an empty owner list unstages it.
    ipvs.calls = [];
    takeover.stage({ type: 'ipvs-staged', services: [staged('VI_1', '192.168.60.200', ['10.0.0.2']), { id: 'tcp/inet/192.168.60.201/80', owners: [], ops: [] }] });
    await takeover.beforeVipsAdded('VI_1');
    await takeover.beforeVipsAdded('VI_2');
    expect(ipvs.calls).toEqual(['add-service 192.168.60.200', 'add-dest']);
    // A reset forgets everything not in it.
    ipvs.calls = [];
    takeover.stage({ type: 'ipvs-staged', reset: true, services: [] });
    await takeover.beforeVipsAdded('VI_1');
    expect(ipvs.calls).toEqual([]);
  });

  it('"already exists" is fine; a refused row is logged with what it was, and the VIPs go ahead', async () => {
    const ipvs = new FakeIpvs();
    ipvs.refuse = (op) => (op.op === 'add-service' ? new IpvsError('add-service', 17, 'Service already exists') : op.op === 'add-dest' ? new IpvsError('add-dest', 22, 'Invalid argument') : undefined);
    const { takeover, lines } = make(ipvs);
    takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1'])] });
    await takeover.beforeVipsAdded('VI_1');
    takeover.afterVipsAdded('VI_1');
    expect(lines()).toEqual(['error (VI_1) IPVS refused real server [10.0.0.1]:80: Invalid argument - VIPs added anyway']);
  });

  it('a kernel that does not answer holds the VIPs back at most waitMs; no IPVS at all holds nothing', async () => {
    const ipvs = new FakeIpvs();
    ipvs.silent = true;
    const { takeover, lines } = make(ipvs, 30);
    takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1'])] });
    await takeover.beforeVipsAdded('VI_1'); // resolves: the test would time out otherwise
    takeover.afterVipsAdded('VI_1');
    expect(lines()).toEqual([expect.stringMatching(/^error \(VI_1\) IPVS did not answer within \d+\.\d ms: VIPs added before the virtual servers were confirmed$/)]);

    // A socket still opening at the takeover (the first rows just staged) is waited for within the bound too.
    const hung = make(() => new Promise<TakeoverIpvs>(() => undefined), 30);
    hung.takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1'])] });
    await hung.takeover.beforeVipsAdded('VI_1');
    hung.takeover.afterVipsAdded('VI_1');
    expect(hung.lines()).toEqual([expect.stringMatching(/^error \(VI_1\) IPVS did not answer within/)]);

    let opens = 0;
    const none = make(async () => {
      opens++;
      throw new Error('Protocol not available: the kernel has no IPVS generic netlink family (is the ip_vs module loaded?)');
    });
    none.takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1'])] });
    await new Promise((r) => setTimeout(r, 0));
    await none.takeover.beforeVipsAdded('VI_1');
    none.takeover.afterVipsAdded('VI_1');
    expect(opens).toBe(2); // tried when staged, and again at the takeover (ip_vs may have been loaded since)
    expect(none.lines()).toEqual([
      'warn IPVS: cannot open it from the VRRP process: Protocol not available: the kernel has no IPVS generic netlink family (is the ip_vs module loaded?)',
      'error (VI_1) virtual servers not installed before the VIPs: Protocol not available: the kernel has no IPVS generic netlink family (is the ip_vs module loaded?)',
    ]);
  });

  it("lvs_sync_daemon follows its instance in keepalived's order: leftovers stopped at start, master after the VIPs, backup before they go", async () => {
    const ipvs = new FakeIpvs();
    const { takeover, lines } = make(ipvs);
    let master = false;
    takeover.configure(config(CONF('lvs_sync_daemon eth0 VI_1')), () => master);
    await takeover.beforeVipsAdded('VI_2'); // nothing staged, nothing to do
    await takeover.beforeVipsRemoved('VI_2');
    await new Promise((r) => setTimeout(r, 10));
    expect(ipvs.calls).toEqual(['stop master', 'stop backup', 'start backup eth0 10']);
    expect(lines()).toContain('info Starting IPVS backup sync daemon on eth0, syncid 10');

    ipvs.calls = [];
    takeover.afterVipsAdded('VI_2'); // another instance: no change
    takeover.afterVipsAdded('VI_1');
    master = true;
    await takeover.beforeVipsRemoved('VI_2');
    await new Promise((r) => setTimeout(r, 10));
    expect(ipvs.calls).toEqual(['stop backup', 'start master eth0 10']);

    ipvs.calls = [];
    await takeover.beforeVipsRemoved('VI_1'); // resolves once the daemon is backup
    expect(ipvs.calls).toEqual(['stop master', 'start backup eth0 10']);
    master = false;

    // A reload that changes its settings restarts it in its current role; one without it stops it.
    ipvs.calls = [];
    takeover.configure(config(CONF('lvs_sync_daemon eth0 VI_1')), () => master);
    takeover.configure(config(CONF('lvs_sync_daemon eth1 VI_1 id 7')), () => master);
    await takeover.beforeVipsRemoved('VI_1');
    expect(ipvs.calls).toEqual(['stop backup', 'start backup eth1 7']);
    ipvs.calls = [];
    takeover.configure(config(CONF()), () => master);
    await takeover.stop();
    expect(ipvs.calls).toEqual(['stop backup']);
    expect(lines()).toContain('info Stopped IPVS backup sync daemon: lvs_sync_daemon is no longer configured');
    expect(ipvs.closed).toBe(true);
  });

  it('stops the sync daemon at shutdown; an unknown instance is cleared with a warning, as keepalived does', async () => {
    const ipvs = new FakeIpvs();
    const { takeover } = make(ipvs);
    takeover.configure(config(CONF('lvs_sync_daemon eth0 VI_1')), () => true);
    takeover.afterVipsAdded('VI_1'); // already master: nothing more
    await new Promise((r) => setTimeout(r, 10));
    await takeover.stop();
    expect(ipvs.calls).toEqual(['stop master', 'stop backup', 'start master eth0 10', 'stop master']);
    expect(ipvs.daemons).toEqual([]);

    const other = new FakeIpvs();
    const unknown = make(other);
    unknown.takeover.configure(config(CONF('lvs_sync_daemon eth0 VI_9')), () => false);
    unknown.takeover.afterVipsAdded('VI_9');
    await unknown.takeover.stop();
    expect(other.calls).toEqual([]);
    expect(unknown.lines()).toEqual(['warn (VI_9) no VRRP instance with this name for lvs_sync_daemon - clearing lvs_sync_daemon config']);
  });

  it('becoming master, the synced connections of the virtual servers it created are re-announced to the backup sync daemon before it stops', async () => {
    const ipvs = new FakeIpvs();
    const { takeover, lines } = make(ipvs);
    takeover.configure(config(CONF('lvs_sync_daemon eth0 VI_1 id 51')), () => false);
    takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1']), staged('VI_2', '192.168.60.201', ['10.0.0.3'])] });
    await takeover.beforeVipsRemoved('VI_1');
    ipvs.calls = [];
    await takeover.beforeVipsAdded('VI_1');
    takeover.afterVipsAdded('VI_1');
    await takeover.beforeVipsRemoved('VI_2'); // waits for nothing; let the queue run
    await masterStarted(ipvs);
    // VI_2's entry (10.0.0.3) is not re-announced: its virtual server was not installed.
    expect(ipvs.calls).toEqual(['add-service 192.168.60.200', 'add-dest', 'read synced', 'send 1 to 224.0.0.81:8848 on eth0', 'stop backup', 'start master eth0 51']);
    expect(lines()).toContainEqual(expect.stringMatching(/^info \(VI_1\) IPVS sync: 1 synced connection re-announced to the backup sync daemon, which binds them to their real servers \(\d+\.\d ms\)$/));

    // Back to backup, then master again with the virtual server already there (EEXIST): its entries
    // were bound as they arrived, nothing to re-announce.
    await takeover.beforeVipsRemoved('VI_1');
    ipvs.refuse = (op) => (op.op === 'add-service' ? new IpvsError('add-service', 17, 'Service already exists') : undefined);
    ipvs.calls = [];
    await takeover.beforeVipsAdded('VI_1');
    takeover.afterVipsAdded('VI_1');
    await masterStarted(ipvs);
    expect(ipvs.calls).toEqual(['add-service 192.168.60.200', 'add-dest', 'stop backup', 'start master eth0 51']);
  });

  it('datagrams the backup sync daemon dropped are a warning; the sync daemon still becomes master', async () => {
    const ipvs = new FakeIpvs();
    const log = createMemoryLogger();
    const takeover = new IpvsTakeover(log, { open: async () => ipvs, waitMs: 50, syncIo: bindingIo(ipvs, true), bindingWaitMs: 5 });
    takeover.configure(config(CONF('lvs_sync_daemon eth0 VI_1')), () => false);
    takeover.stage({ type: 'ipvs-staged', reset: true, services: [staged('VI_1', '192.168.60.200', ['10.0.0.1'])] });
    await takeover.beforeVipsAdded('VI_1');
    takeover.afterVipsAdded('VI_1');
    await masterStarted(ipvs);
    expect(log.lines.map((l) => `${l.level} ${l.msg}`)).toContainEqual(expect.stringMatching(/^warn \(VI_1\) IPVS sync: 1 synced connection re-announced .* \(\d+\.\d ms\); 1 datagram dropped by its full receive buffer: those stay unbound$/));
    expect(ipvs.calls.slice(-2)).toEqual(['stop backup', 'start master eth0 10']);
  });
});
