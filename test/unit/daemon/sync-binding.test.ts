// Binding a new master's synced connections (daemon/sync-binding.ts) against a fake kernel: only the
// entries the sync daemon created for the virtual servers just installed are re-announced, in rounds
// paced by the kernel's counters, never past the deadline.
import { describe, expect, it } from 'vitest';
import { endianness } from 'node:os';
import { bindSyncedConnections, findUdpSocket, procAddress, type SyncBindingIo, type SyncTarget } from '../../../src/daemon/sync-binding.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import type { ServiceKey } from '../../../src/ipvs/types.js';

const KEY: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.60.200', port: 9000 };
const OPS: IpvsOp[] = [
  { op: 'add-service', service: { key: KEY, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' } },
  { op: 'add-dest', key: KEY, dest: { family: 'inet', address: '192.168.60.121', port: 9000, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 } },
];
const DAEMON = { mcastInterface: 'eth0', syncId: 51 };

const line = (port: number, dest = 'C0A83C79', origin = 'SYNC') =>
  `TCP C0A83C0A ${port.toString(16).toUpperCase().padStart(4, '0')} C0A83CC8 2328 ${dest} 2328 ESTABLISHED ${origin}       893`;

/** A backup sync daemon whose thread reads `perRead` datagrams between two reads of its queue. */
class FakeKernel implements SyncBindingIo {
  text = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires\n';
  sent: Buffer[] = [];
  targets: string[] = [];
  queue: Buffer[] = [];
  /** Datagrams beyond this many waiting are dropped, as a full receive buffer does. */
  capacity = Infinity;
  drops = 3; // dropped before: not counted
  perRead = Infinity;
  socket = true;
  clock = 0;
  mtuValue: number | undefined = 1500;
  async readSynced() {
    return this.text;
  }
  mtu() {
    return this.mtuValue;
  }
  async send(datagrams: readonly Buffer[], target: SyncTarget) {
    this.targets.push(`${target.ifname} ${target.group}:${target.port}`);
    for (const d of datagrams) {
      this.sent.push(d);
      if (this.queue.length >= this.capacity) this.drops++;
      else this.queue.push(d);
    }
  }
  async receiveQueue() {
    if (!this.socket) return undefined;
    const queued = this.queue.reduce((n, d) => n + d.length, 0);
    return { queued, drops: this.drops };
  }
  async pause() {
    this.queue.splice(0, this.perRead);
    this.clock += 1;
  }
  now() {
    return this.clock;
  }
}

const entries = (n: number) => Array.from({ length: n }, (_, i) => line(1000 + i)).join('\n');

describe('bindSyncedConnections', () => {
  it("re-announces only SYNC entries whose real server belongs to the installed virtual servers, to the daemon's group", async () => {
    const k = new FakeKernel();
    k.text += [line(1000), line(1001, 'C0A83C7A'), line(1002, 'C0A83C79', 'LOCAL'), line(1003), 'TCP garbage'].join('\n');
    const outcome = await bindSyncedConnections(OPS, DAEMON, k, 100);
    expect(outcome).toEqual({ kind: 'done', sent: 2, ms: 1, dropped: 0, unsent: 0, unpaced: false });
    expect(k.targets).toEqual(['eth0 224.0.0.81:8848']);
    expect(k.sent.length).toBe(1);
    expect(k.sent[0]![1]).toBe(51); // syncid
    expect([k.sent[0]!.readUInt16BE(18), k.sent[0]!.readUInt16BE(18 + 36)]).toEqual([1000, 1003]);

    const custom = new FakeKernel();
    custom.text += line(1000);
    await bindSyncedConnections(OPS, { ...DAEMON, mcastGroup: '239.1.1.1', mcastPort: 9999, maxLen: 100 }, custom, 100);
    expect(custom.targets).toEqual(['eth0 239.1.1.1:9999']);
  });

  it('nothing to do: no real servers installed, or no synced entry for them', async () => {
    const k = new FakeKernel();
    k.text += line(1000, 'C0A83C7A');
    expect(await bindSyncedConnections(OPS, DAEMON, k, 100)).toEqual({ kind: 'none' });
    expect(await bindSyncedConnections([OPS[0]!], DAEMON, k, 100)).toEqual({ kind: 'none' });
    expect(k.sent).toEqual([]);
  });

  it('sends in rounds of 32 datagrams, each once the daemon read the one before, so none is dropped; sizes follow maxlen or the MTU', async () => {
    const k = new FakeKernel();
    k.text += entries(3000);
    k.capacity = 40;
    k.perRead = 10;
    const outcome = await bindSyncedConnections(OPS, DAEMON, k, 1000);
    expect(outcome).toMatchObject({ kind: 'done', sent: 3000, dropped: 0, unsent: 0 });
    // 1500-byte MTU: (1472 - 8) / 36 = 40 entries a datagram; 75 datagrams.
    expect(k.sent.map((m) => m[4]).filter((n) => n !== 40)).toEqual([]);
    expect(k.sent.length).toBe(75);

    // A receive buffer smaller than a round: what does not fit is dropped, and counted (rounds of 32, 32, 11).
    const small = new FakeKernel();
    small.text += entries(3000);
    small.capacity = 20;
    small.perRead = 10;
    expect(await bindSyncedConnections(OPS, DAEMON, small, 1000)).toMatchObject({ sent: 3000, dropped: 12 + 12 });

    const limited = new FakeKernel();
    limited.text += entries(10);
    await bindSyncedConnections(OPS, { ...DAEMON, maxLen: 8 + 36 * 3 }, limited, 1000);
    expect(limited.sent.map((m) => m[4])).toEqual([3, 3, 3, 1]);
  });

  it('a daemon that reads nothing: stops sending at the deadline and says how many were not sent; no socket to watch: a pause per round', async () => {
    const k = new FakeKernel();
    k.text += entries(3000);
    k.perRead = 0;
    expect(await bindSyncedConnections(OPS, DAEMON, k, 20)).toEqual({ kind: 'done', sent: 1280, ms: 20, dropped: 0, unsent: 1720, unpaced: false });

    const blind = new FakeKernel();
    blind.text += entries(3000);
    blind.socket = false;
    expect(await bindSyncedConnections(OPS, DAEMON, blind, 1000)).toEqual({ kind: 'done', sent: 3000, ms: 3, dropped: 0, unsent: 0, unpaced: true });
  });

  it('a read error is reported', async () => {
    const broken = new FakeKernel();
    broken.readSynced = async () => {
      throw new Error('ENOENT: no such file or directory');
    };
    expect(await bindSyncedConnections(OPS, DAEMON, broken, 20)).toEqual({ kind: 'failed', why: 'cannot read /proc/net/ip_vs_conn_sync: ENOENT: no such file or directory' });
  });
});

describe('/proc/net/udp', () => {
  // The 6.1 kernel's backup sync socket, bound to 224.0.0.81:8848, with 2 datagrams waiting and 5 dropped.
  const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  168: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 15321 2 0000000000000000 0
  712: 510000E0:2290 00000000:0000 07 00000000:00000B80 00:00000000 00000000     0        0 0 2 0000000000000000 5
`;
  it("finds the sync daemon's socket by group and port: bytes queued and drops", () => {
    expect(procAddress('224.0.0.81')).toBe(endianness() === 'LE' ? '510000E0' : 'E0000051');
    expect(findUdpSocket(UDP, '510000E0', 8848)).toEqual({ queued: 0xb80, drops: 5 });
    expect(findUdpSocket(UDP, '510000E0', 8849)).toBeUndefined();
    expect(procAddress('ff02::8:81')).toHaveLength(32);
  });
});
