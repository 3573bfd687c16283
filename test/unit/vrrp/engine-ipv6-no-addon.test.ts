// Without the native addon (LVSKEEPER_NO_ADDON=1 here) an IPv6 multicast transport cannot check the hop
// limit of received adverts (RFC 5798 §7.1): its instance is refused, named in one log line; IPv4 and
// IPv6 unicast instances run. The engine gets the real transport's check in front of the fake sockets.
import { describe, expect, it, vi } from 'vitest';
import { VrrpEngine } from '../../../src/daemon/vrrp-engine.js';
import { assertIpv6HopLimitCheckable, openVrrpTransport } from '../../../src/net/transport.js';
import { loadNative } from '../../../src/net/native.js';
import type { TransportOptions } from '../../../src/net/types.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { Node, parse, run, Wire } from './engine-harness.js';

vi.hoisted(() => {
  process.env['LVSKEEPER_NO_ADDON'] = '1';
});

const CONF = `
vrrp_instance VI_4 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 200
  advert_int 1
  virtual_ipaddress {
    192.168.60.200/24
  }
}
vrrp_instance VI_6 {
  state MASTER
  interface eth0
  virtual_router_id 52
  priority 200
  advert_int 1
  virtual_ipaddress {
    2001:db8::200/64
  }
}
vrrp_instance VI_6U {
  state MASTER
  interface eth0
  virtual_router_id 53
  priority 200
  advert_int 1
  unicast_peer {
    fe80::2
  }
  virtual_ipaddress {
    2001:db8::201/64
  }
}
`;

describe('IPv6 VRRP without the native addon', () => {
  it('the addon is disabled in this file', () => {
    expect(loadNative().error?.message).toBe('native addon disabled by LVSKEEPER_NO_ADDON=1');
  });

  it('openVrrpTransport refuses IPv6 multicast before touching a socket; IPv4 and IPv6 unicast pass the check', async () => {
    await expect(openVrrpTransport({ family: 'inet6', interface: 'lo' })).rejects.toThrow(
      'VRRP transport on lo (IPv6): the hop limit of received adverts cannot be checked (RFC 5798 §7.1: must be 255) without the native addon\'s receive socket (native addon disabled by LVSKEEPER_NO_ADDON=1) - refusing IPv6 multicast VRRP',
    );
    expect(() => assertIpv6HopLimitCheckable({ family: 'inet', interface: 'lo' })).not.toThrow();
    expect(() => assertIpv6HopLimitCheckable({ family: 'inet6', interface: 'lo', unicastPeers: ['fe80::2'] })).not.toThrow();
  });

  it('the engine refuses the IPv6 multicast instance with one log line naming it and its file:line; the others run', async () => {
    const timers = new FakeTimers();
    const node = new Node(new Wire(timers), '192.168.60.1');
    const fake = node.adapters();
    const opened: TransportOptions[] = [];
    node.engine = await VrrpEngine.start(
      parse(CONF),
      {
        ...fake,
        // openVrrpTransport's own first step, then a fake socket instead of a raw one.
        openTransport: async (o) => {
          assertIpv6HopLimitCheckable(o);
          opened.push(o);
          return fake.openTransport(o);
        },
      },
      { log: node.log, keepVipsOnStop: false },
    );
    await run(timers, 5000);
    expect([...node.engine.instances.keys()]).toEqual(['VI_4', 'VI_6U']);
    expect(node.state('VI_4')).toBe('MASTER');
    expect(node.state('VI_6U')).toBe('MASTER');
    expect(opened.map((o) => o.family)).toEqual(['inet', 'inet6']);
    const refusals = node.log.lines.filter((l) => l.msg.includes('hop limit'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({
      level: 'error',
      msg:
        '(VI_6) cannot start (/etc/keepalived/keepalived.conf:12): VRRP transport on eth0 (IPv6): the hop limit of received adverts cannot be checked (RFC 5798 §7.1: must be 255) without the native addon\'s receive socket (native addon disabled by LVSKEEPER_NO_ADDON=1) - refusing IPv6 multicast VRRP',
    });
    await node.engine.stop();
  });
});
