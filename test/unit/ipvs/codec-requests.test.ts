// Golden bytes for every IPVS request, derived by hand from include/uapi/linux/ip_vs.h and the kernel's
// attribute policy (ip_vs_ctl.c), not from the encoder: nla = { u16 len (header+payload, unpadded),
// u16 type } + payload padded to 4. Host order is little-endian (x86_64, the only target so far).
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  encodeGetConfig,
  encodeGetDaemons,
  encodeGetDests,
  encodeGetFamily,
  encodeGetInfo,
  encodeGetService,
  encodeGetServices,
  encodeOp,
  frameMessage,
  NLM_F_ACK,
  NLM_F_REQUEST,
} from '../../../src/ipvs/codec.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { IpvsError, type ServiceKey } from '../../../src/ipvs/types.js';

/** Hex with spaces, newlines and // comments allowed. */
const hex = (s: string): string => s.replace(/\/\/[^\n]*/g, '').replace(/\s+/g, '');

const V4: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 };
const V6: ServiceKey = { kind: 'addr', family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53 };
const FW: ServiceKey = { kind: 'fwmark', family: 'inet', fwmark: 0x63 };

// IPVS_CMD_ATTR_SERVICE contents identifying V4: AF, PROTOCOL, ADDR (16 bytes), PORT (network order).
const V4_ID = `
  0600 0100 0200 0000                    // SVC_ATTR_AF u16 AF_INET=2, 2 pad
  0600 0200 0600 0000                    // SVC_ATTR_PROTOCOL u16 IPPROTO_TCP=6
  1400 0300 0a000001 000000000000000000000000  // SVC_ATTR_ADDR 16 bytes (nf_inet_addr)
  0600 0400 0050 0000                    // SVC_ATTR_PORT be16 80
`;
const V6_ID = `
  0600 0100 0a00 0000                    // AF_INET6=10
  0600 0200 1100 0000                    // IPPROTO_UDP=17
  1400 0300 20010db8000000000000000000000001
  0600 0400 0035 0000                    // port 53 big-endian
`;
const FW_ID = `
  0600 0100 0200 0000                    // AF_INET
  0800 0500 63000000                     // SVC_ATTR_FWMARK u32 0x63
`;

const cases: Array<[string, IpvsOp, string]> = [
  [
    'add-service: NEW_SERVICE with scheduler, flags {flags,mask}, timeout, IPv4 netmask bytes',
    { op: 'add-service', service: { key: V4, scheduler: 'wrr', flags: 1, timeout: 300, netmask: '255.255.255.0' } },
    `01 01 0000                            // genlmsghdr: cmd NEW_SERVICE=1, version 1
     5400 0100                             // CMD_ATTR_SERVICE: 4 + id 44 + sched 8 + flags 12 + 8 + 8 = 84
     ${V4_ID}
     0800 0600 77727200                    // SCHED_NAME "wrr\\0"
     0c00 0700 01000000 ffffffff           // FLAGS struct ip_vs_flags { PERSISTENT, mask ~0 }
     0800 0800 2c010000                    // TIMEOUT u32 300
     0800 0900 ffffff00                    // NETMASK: the mask's network-order bytes`,
  ],
  [
    'edit-service: SET_SERVICE, IPv6 prefix as a host u32, persistence engine, HASHED stripped',
    { op: 'edit-service', service: { key: V6, scheduler: 'sh', flags: 0x1 | 0x2 | 0x8 | 0x10, timeout: 60, netmask: '64', persistenceEngine: 'sip' } },
    `02 01 0000                            // SET_SERVICE
     5c00 0100                             // 4 + id 44 + sched 8 + pe 8 + flags 12 + timeout 8 + netmask 8 = 92
     ${V6_ID}
     0700 0600 736800 00                   // SCHED_NAME "sh\\0" (len 7, 1 pad)
     0800 0b00 73697000                    // PE_NAME "sip\\0"
     0c00 0700 19000000 ffffffff           // flags 0x19 (0x1b without HASHED 0x2)
     0800 0800 3c000000                    // timeout 60
     0800 0900 40000000                    // prefix length 64, host u32`,
  ],
  [
    'del-service by fwmark: only AF + FWMARK',
    { op: 'del-service', key: FW },
    `03 01 0000  1400 0100 ${FW_ID}`,
  ],
  [
    'add-dest: NEW_DEST with service id and full dest (route)',
    { op: 'add-dest', key: V4, dest: { family: 'inet', address: '10.1.0.1', port: 8080, forward: 'route', weight: 5, upperThreshold: 10, lowerThreshold: 2 } },
    `05 01 0000
     3000 0100 ${V4_ID}
     4800 0200                             // CMD_ATTR_DEST: 4 + af 8 + addr 20 + port 8 + 4 × 8 = 72
       0600 0b00 0200 0000                 // DEST_ATTR_ADDR_FAMILY u16 AF_INET
       1400 0100 0a010001 000000000000000000000000
       0600 0200 1f90 0000                 // DEST_ATTR_PORT be16 8080
       0800 0300 03000000                  // FWD_METHOD IP_VS_CONN_F_DROUTE=3
       0800 0400 05000000                  // WEIGHT 5
       0800 0500 0a000000                  // U_THRESH 10
       0800 0600 02000000                  // L_THRESH 2`,
  ],
  [
    'edit-dest: SET_DEST, tunnel GUE with tunnel port (network order) and flags (host u16)',
    { op: 'edit-dest', key: FW, dest: { family: 'inet', address: '10.1.0.2', port: 0, forward: 'tunnel', weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnelType: 'gue', tunnelPort: 6080, tunnelFlags: 1 } },
    `06 01 0000
     1400 0100 ${FW_ID}
     6000 0200                             // 72 + type 8 + port 8 + flags 8 = 96
       0600 0b00 0200 0000
       1400 0100 0a010002 000000000000000000000000
       0600 0200 0000 0000
       0800 0300 02000000                  // IP_VS_CONN_F_TUNNEL=2
       0800 0400 01000000
       0800 0500 00000000
       0800 0600 00000000
       0500 0d00 01 000000                 // TUN_TYPE u8 GUE=1
       0600 0e00 17c0 0000                 // TUN_PORT be16 6080
       0600 0f00 0100 0000                 // TUN_FLAGS u16 CSUM=1`,
  ],
  [
    'del-dest: DEL_DEST with dest address and port only',
    { op: 'del-dest', key: V6, dest: { family: 'inet6', address: '2001:db8::a', port: 53 } },
    `07 01 0000
     3000 0100 ${V6_ID}
     2800 0200                             // 4 + 8 + 20 + 8 = 40
       0600 0b00 0a00 0000
       1400 0100 20010db800000000000000000000000a
       0600 0200 0035 0000`,
  ],
  [
    'set-timeout: SET_CONFIG with three top-level u32',
    { op: 'set-timeout', timeouts: { tcp: 900, tcpFin: 120, udp: 300 } },
    `0c 01 0000
     0800 0400 84030000                    // CMD_ATTR_TIMEOUT_TCP 900
     0800 0500 78000000                    // TCP_FIN 120
     0800 0600 2c010000                    // UDP 300`,
  ],
  [
    'start-daemon: NEW_DAEMON with state, ifname, syncid, maxlen, IPv4 group (network order), port (host), ttl',
    { op: 'start-daemon', daemon: { state: 'backup', mcastInterface: 'eth0', syncId: 9, maxLen: 1400, mcastGroup: '239.1.2.3', mcastPort: 9000, mcastTtl: 3 } },
    `09 01 0000
     4000 0300                             // CMD_ATTR_DAEMON: 4 + 8 + 12 + 8 + 8 + 8 + 8 + 8 = 64
       0800 0100 02000000                  // STATE IP_VS_STATE_BACKUP=2
       0900 0200 65746830 00 000000        // MCAST_IFN "eth0\\0" (len 9, 3 pad)
       0800 0300 09000000                  // SYNC_ID 9
       0600 0400 7805 0000                 // SYNC_MAXLEN u16 1400
       0800 0500 ef010203                  // MCAST_GROUP in_addr 239.1.2.3
       0600 0700 2823 0000                 // MCAST_PORT u16 host 9000
       0500 0800 03 000000                 // MCAST_TTL u8 3`,
  ],
  [
    'start-daemon with an IPv6 group uses MCAST_GROUP6',
    { op: 'start-daemon', daemon: { state: 'master', mcastInterface: 'lo', syncId: 1, mcastGroup: 'ff02::12' } },
    `09 01 0000
     3000 0300                             // 4 + 8 + 8 + 8 + 20 = 48
       0800 0100 01000000                  // IP_VS_STATE_MASTER=1
       0700 0200 6c6f00 00                 // "lo\\0"
       0800 0300 01000000
       1400 0600 ff020000000000000000000000000012`,
  ],
  ['stop-daemon: DEL_DAEMON with the state only', { op: 'stop-daemon', state: 'master' }, `0a 01 0000  0c00 0300 0800 0100 01000000`],
  ['zero all: ZERO without attributes', { op: 'zero' }, `10 01 0000`],
  ['zero one service: ZERO with the service id', { op: 'zero', key: FW }, `10 01 0000  1400 0100 ${FW_ID}`],
  ['flush: FLUSH without attributes', { op: 'flush' }, `11 01 0000`],
];

describe.runIf(endianness() === 'LE')('IPVS request golden bytes', () => {
  it.each(cases)('%s', (_name, op, expected) => {
    const r = encodeOp(op);
    expect(r.dump).toBe(false);
    expect(r.op).toBe(op.op);
    expect(r.payload.toString('hex')).toBe(hex(expected));
  });

  it('GET requests: service dump, one service, dest dump, daemon dump, config, info', () => {
    expect(encodeGetServices()).toMatchObject({ cmd: 4, dump: true });
    expect(encodeGetServices().payload.toString('hex')).toBe('04010000');
    expect(encodeGetService(V4)).toMatchObject({ cmd: 4, dump: false });
    expect(encodeGetService(V4).payload.toString('hex')).toBe(hex(`04 01 0000 3000 0100 ${V4_ID}`));
    expect(encodeGetDests(FW)).toMatchObject({ cmd: 8, dump: true });
    expect(encodeGetDests(FW).payload.toString('hex')).toBe(hex(`08 01 0000 1400 0100 ${FW_ID}`));
    expect(encodeGetDaemons().payload.toString('hex')).toBe('0b010000');
    expect(encodeGetDaemons().dump).toBe(true);
    expect(encodeGetConfig().payload.toString('hex')).toBe('0d010000');
    expect(encodeGetInfo().payload.toString('hex')).toBe('0f010000');
  });

  it('nlctrl GETFAMILY "IPVS"', () => {
    // cmd CTRL_CMD_GETFAMILY=3, version 1; CTRL_ATTR_FAMILY_NAME=2 "IPVS\0" (len 9, 3 pad)
    expect(encodeGetFamily().toString('hex')).toBe(hex('03 01 0000 0900 0200 49505653 00 000000'));
  });

  it('frames a message with nlmsghdr { len, type, flags, seq, pid }', () => {
    const f = frameMessage({ type: 0x20, flags: NLM_F_REQUEST | NLM_F_ACK, seq: 0x01020304, pid: 0, payload: Buffer.from('11010000', 'hex') });
    expect(f.toString('hex')).toBe(hex('14000000 2000 0500 04030201 00000000 11010000'));
  });
});

describe('IPVS request validation', () => {
  const bad: Array<[string, IpvsOp]> = [
    ['bad IPv4 address', { op: 'del-service', key: { ...V4, address: '10.0.0.256' } }],
    ['IPv6 text in an IPv4 service', { op: 'del-service', key: { ...V4, address: '::1' } }],
    ['port out of range', { op: 'del-service', key: { ...V4, port: 65536 } }],
    ['scheduler name too long', { op: 'add-service', service: { key: V4, scheduler: 'x'.repeat(16), flags: 0, timeout: 0, netmask: '255.255.255.255' } }],
    ['IPv6 prefix 0', { op: 'add-service', service: { key: V6, scheduler: 'rr', flags: 0, timeout: 0, netmask: '0' } }],
    ['IPv4 netmask text', { op: 'add-service', service: { key: V4, scheduler: 'rr', flags: 0, timeout: 0, netmask: '24' } }],
    ['negative weight', { op: 'add-dest', key: V4, dest: { family: 'inet', address: '10.0.0.2', port: 80, forward: 'masq', weight: -1, upperThreshold: 0, lowerThreshold: 0 } }],
    ['interface name too long', { op: 'start-daemon', daemon: { state: 'master', mcastInterface: 'a-very-long-ifname0', syncId: 1 } }],
    ['bad multicast group', { op: 'start-daemon', daemon: { state: 'master', mcastInterface: 'lo', syncId: 1, mcastGroup: 'nope' } }],
  ];
  it.each(bad)('%s → IpvsError EINVAL with the op', (_name, op) => {
    let err: unknown;
    try {
      encodeOp(op);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpvsError);
    expect((err as IpvsError).errno).toBe(22);
    expect((err as IpvsError).op).toBe(op.op);
  });
});
