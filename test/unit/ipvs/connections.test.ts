import { describe, expect, it } from 'vitest';
import { parseConnections, readConnections } from '../../../src/ipvs/connections.js';

// Lines in the kernel's format (ip_vs_conn_seq_show): "%-3s %08X %04X %08X %04X %s %04X %-11s %7u%s".
const SAMPLE = `Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
TCP 0A000002 9C40 0A000001 0050 0A010001 1F90 ESTABLISHED     899
UDP C0A80101 0035 C0A80102 0035 C0A80103 0035 UDP             299
TCP 2001:0db8:0000:0000:0000:0000:0000:0002 D431 2001:0db8:0000:0000:0000:0000:0000:0001 01BB 2001:0db8:0000:0000:0000:0000:0000:000a 01BB SYN_RECV         59
UDP 0A000002 13C4 0A000001 13C4 0A010001 13C4 UDP             180 sip 3f2a@host
garbage line
`;

describe('connection table', () => {
  it('parses IPv4, IPv6 and persistence-engine lines like ipvsadm, skipping the header and junk', () => {
    const c = parseConnections(SAMPLE);
    expect(c).toHaveLength(4);
    expect(c[0]).toEqual({
      protocol: 'TCP',
      family: 'inet',
      clientAddress: '10.0.0.2',
      clientPort: 40000,
      virtualAddress: '10.0.0.1',
      virtualPort: 80,
      destinationFamily: 'inet',
      destinationAddress: '10.1.0.1',
      destinationPort: 8080,
      state: 'ESTABLISHED',
      expiresSec: 899,
      peName: undefined,
      peData: undefined,
    });
    expect(c[1]).toMatchObject({ protocol: 'UDP', clientAddress: '192.168.1.1', virtualAddress: '192.168.1.2', state: 'UDP', expiresSec: 299 });
    expect(c[2]).toMatchObject({
      family: 'inet6',
      clientAddress: '2001:db8::2',
      clientPort: 0xd431,
      virtualAddress: '2001:db8::1',
      virtualPort: 443,
      destinationAddress: '2001:db8::a',
      state: 'SYN_RECV',
      expiresSec: 59,
    });
    expect(c[3]).toMatchObject({ peName: 'sip', peData: '3f2a@host' });
  });

  it('an absent /proc file (no ip_vs) reads as no connections', async () => {
    expect(await readConnections('/nonexistent/ip_vs_conn')).toEqual([]);
  });
});
