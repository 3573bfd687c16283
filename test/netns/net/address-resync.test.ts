// Lost address notifications against the real kernel: an event socket whose buffer overflows (ENOBUFS) or
// that fails and is reopened misses the RTM_DELADDR of a VIP deleted meanwhile; the address manager re-reads
// the addresses and reports it anyway. (Before the addon read notification sockets, the overflow aborted
// the process inside the netlink package.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { buildAdapters, ipn, Probe, type ProbeEvent, type Topology, topology } from './helpers.js';

let topo: Topology;
let pa: Probe;
const vip = { family: 'inet', address: '10.77.45.200', prefixLength: 24, interface: 'eth0' };

beforeAll(async () => {
  buildAdapters();
  topo = topology('lkn-ar', 45);
  pa = await Probe.start(topo.a);
  // The netlink package's own socket aborts the process on an overflow; notification sockets need the
  // addon's openNetlinkReceiver.
  if (!(await pa.call<boolean>('addonHas', { name: 'openNetlinkReceiver' }))) {
    throw new Error('the native addon has no openNetlinkReceiver: rebuild it (npm install, or node-gyp rebuild)');
  }
}, 60_000);

afterAll(async () => {
  await pa?.stop();
  topo?.down();
});

const since = (n: number) => (pred: (e: ProbeEvent) => boolean) => (e: ProbeEvent) => pa.events.indexOf(e) >= n && pred(e);
const hasVip = (): boolean => ipn(topo.a, '-4', '-o', 'addr', 'show', 'dev', 'eth0').includes(`${vip.address}/24`);

describe('AddressManager after lost notifications', () => {
  it('an overflowed event socket (ENOBUFS): the VIP deleted in the flood is reported after a re-read', async () => {
    // The smallest receive buffer the kernel allows (a few notifications); the loop is blocked while
    // 1000 addresses are added and then the VIP deleted, so its RTM_DELADDR is dropped.
    await pa.call('openAddresses', { key: 'small', opts: { eventReceiveBufferBytes: 1 } });
    await pa.call('addAddress', { key: 'small', vip });
    expect(hasVip()).toBe(true);
    const n = pa.events.length;
    const blocked = pa.call('blockLoopSignalled', { key: 'small', ms: 3000 });
    await pa.waitFor(since(n)((e) => e.event === 'blocking'));
    const lines = Array.from({ length: 1000 }, (_, i) => `addr add 10.${78 + Math.floor(i / 250)}.46.${i % 250}/32 dev eth0`);
    lines.push(`addr del ${vip.address}/24 dev eth0`);
    execFileSync('ip', ['-n', topo.a, '-batch', '-'], { input: `${lines.join('\n')}\n` });
    expect(hasVip()).toBe(false);
    await blocked;
    const removed = await pa.waitFor(since(n)((e) => e.event === 'removed' && e.key === 'small' && e['address'] === vip.address), 10_000);
    expect(removed).toMatchObject({ family: 'inet', address: vip.address });
    const warnings = pa.events.filter(since(n)((e) => e.event === 'warning' && e.key === 'small')).map((e) => e['message']);
    expect(warnings).toContain('rtnetlink address monitor socket: receive buffer overrun, notifications lost - re-reading addresses');
    await pa.call('close', { key: 'small' });
  });

  it('a failed event socket: reopened, and the VIP deleted while it was closed is reported', async () => {
    await pa.call('openAddresses', { key: 'am', opts: {} });
    await pa.call('addAddress', { key: 'am', vip });
    const n = pa.events.length;
    await pa.call('failAddressEvents', { key: 'am', command: ['ip', 'addr', 'del', `${vip.address}/24`, 'dev', 'eth0'] });
    expect(hasVip()).toBe(false);
    const removed = await pa.waitFor(since(n)((e) => e.event === 'removed' && e.key === 'am' && e['address'] === vip.address));
    expect(removed).toMatchObject({ family: 'inet', address: vip.address });
    const warnings = pa.events.filter(since(n)((e) => e.event === 'warning' && e.key === 'am')).map((e) => e['message']);
    expect(warnings).toEqual([
      'rtnetlink address monitor socket failed (error when polling socket: simulated) - reopening it',
      'rtnetlink address monitor socket reopened - re-reading addresses',
    ]);
    // the new socket hears ordinary deletes again
    await pa.call('addAddress', { key: 'am', vip });
    const m = pa.events.length;
    ipn(topo.a, 'addr', 'del', `${vip.address}/24`, 'dev', 'eth0');
    await pa.waitFor(since(m)((e) => e.event === 'removed' && e.key === 'am' && e['address'] === vip.address));
  });
});
