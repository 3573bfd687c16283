// IPVS sync messages, version 1 (src/ipvs/sync-message.ts), checked byte by byte against the kernel's
// struct ip_vs_sync_mesg / ip_vs_sync_v4 / ip_vs_sync_v6 layout (net/netfilter/ipvs/ip_vs_sync.c), and
// the /proc/net/ip_vs_conn_sync reader. The kernel itself reads these messages in the VM takeover test.
import { describe, expect, it } from 'vitest';
import { encodeSyncMessages, parseSyncedEntries, syncConnectionOf, type SyncConnection } from '../../../src/ipvs/sync-message.js';

// As the 6.1 kernel prints it (ip_vs_conn_sync_seq_show): a DR connection synced from the master, a
// local one, a persistence template (client port 0, template state), an IPv6 one and a truncated line.
const PROC = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
TCP C0A83C0A D431 C0A83CC8 2328 C0A83C79 2328 ESTABLISHED SYNC       893
TCP C0A83C0A D432 C0A83CC8 2328 C0A83C7A 2328 FIN_WAIT    LOCAL      110
TCP C0A83C0A 0000 C0A83CC8 2328 C0A83C79 2328 NONE        SYNC       290
UDP 2001:0db8:0000:0000:0000:0000:0000:000a 0035 2001:0db8:0000:0000:0000:0000:0000:00c8 0035 2001:0db8:0000:0000:0000:0000:0000:0079 0035 UDP         SYNC       299
TCP C0A83C0A D433 C0A83CC8
`;

const V4: SyncConnection = {
  family: 'inet',
  protocol: 6,
  flags: 3,
  state: 1,
  clientAddress: '192.168.60.10',
  clientPort: 54321,
  virtualAddress: '192.168.60.200',
  virtualPort: 9000,
  destinationAddress: '192.168.60.121',
  destinationPort: 9000,
  fwmark: 0,
  timeoutSec: 0,
};

describe('/proc/net/ip_vs_conn_sync', () => {
  it('reads entries with their origin; templates, IPv6 and state names are kept as printed', () => {
    const entries = parseSyncedEntries(PROC);
    expect(entries.map((e) => `${e.protocol} ${e.clientAddress}:${e.clientPort} ${e.virtualAddress}:${e.virtualPort} ${e.destinationAddress}:${e.destinationPort} ${e.state} ${e.origin}`)).toEqual([
      'TCP 192.168.60.10:54321 192.168.60.200:9000 192.168.60.121:9000 ESTABLISHED SYNC',
      'TCP 192.168.60.10:54322 192.168.60.200:9000 192.168.60.122:9000 FIN_WAIT LOCAL',
      'TCP 192.168.60.10:0 192.168.60.200:9000 192.168.60.121:9000 NONE SYNC',
      'UDP 2001:db8::a:53 2001:db8::c8:53 2001:db8::79:53 UDP SYNC',
    ]);
  });

  it('a connection keeps its state and gets the forwarding method; not established is inactive; a template is flagged', () => {
    const [est, fin, tpl, udp] = parseSyncedEntries(PROC);
    expect(syncConnectionOf(est!, 'route')).toMatchObject({ protocol: 6, state: 1, flags: 3 });
    expect(syncConnectionOf(fin!, 'masq')).toMatchObject({ protocol: 6, state: 4, flags: 0x0100 });
    expect(syncConnectionOf(tpl!, 'route')).toMatchObject({ protocol: 6, state: 0, flags: 0x1000 | 3 });
    expect(syncConnectionOf(udp!, 'tunnel')).toMatchObject({ family: 'inet6', protocol: 17, state: 0, flags: 2 });
    expect(syncConnectionOf({ ...est!, state: 'WHATEVER' }, 'route')).toBeUndefined();
    expect(syncConnectionOf({ ...est!, protocol: 'AH' }, 'route')).toBeUndefined();
  });
});

describe('sync message encoding', () => {
  it('an IPv4 entry: header (reserved, syncid, size, count, version 1, spare) then ip_vs_sync_v4', () => {
    const [m] = encodeSyncMessages([V4], 51, 1472);
    expect(m!.toString('hex')).toBe(
      [
        '00 33 002c 01 01 0000', // reserved, syncid 51, size 44, 1 entry, version 1, spare
        '00 06 0024', // type inet, TCP, version 0 + size 36
        '00000003', // flags: DR
        '0001', // state ESTABLISHED
        'd431 2328 2328', // cport, vport, dport
        '00000000 00000000', // fwmark, timeout
        'c0a83c0a c0a83cc8 c0a83c79', // caddr, vaddr, daddr
      ]
        .join('')
        .replace(/ /g, ''),
    );
  });

  it('an IPv6 entry has the INET6 type bit and 72 bytes', () => {
    const [m] = encodeSyncMessages([{ ...V4, family: 'inet6', clientAddress: '2001:db8::a', virtualAddress: '2001:db8::c8', destinationAddress: '2001:db8::79' }], 1, 1452);
    expect(m!.length).toBe(8 + 72);
    expect(m!.readUInt16BE(2)).toBe(80);
    expect(m![8]).toBe(1);
    expect(m!.readUInt16BE(10)).toBe(72);
    expect(m!.subarray(32, 48).toString('hex')).toBe('20010db800000000000000000000000a');
    expect(m!.subarray(64, 80).toString('hex')).toBe('20010db8000000000000000000000079');
  });

  it('splits at the size limit and at 255 entries; each message says its own size and count', () => {
    const many = Array.from({ length: 600 }, (_, i) => ({ ...V4, clientPort: 1000 + i }));
    const small = encodeSyncMessages(many, 1, 8 + 36 * 40);
    expect(small.map((m) => m[4])).toEqual([...Array(15).fill(40)]);
    for (const m of small) expect(m.readUInt16BE(2)).toBe(m.length);
    const big = encodeSyncMessages(many, 1, 65000);
    expect(big.map((m) => m[4])).toEqual([255, 255, 90]);
    expect(big[2]!.readUInt16BE(8 + 89 * 36 + 10)).toBe(1599); // the last entry's client port
    expect(() => encodeSyncMessages([V4], 1, 40)).toThrow(/below one entry/);
    expect(encodeSyncMessages([], 1, 1472)).toEqual([]);
  });
});
