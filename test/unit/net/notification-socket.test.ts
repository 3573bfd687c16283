// Notification sockets are read by the addon when it has openNetlinkReceiver (the netlink package's socket
// aborts the process on ENOBUFS); its datagrams are split into messages here, its errors become Errors
// with code and errno.
import { describe, expect, it, vi } from 'vitest';

const receivers: { groups: number[]; rcvbuf: number; ref: boolean; cb: (e: string | null, d?: Buffer) => void; closed: boolean }[] = [];
vi.mock('../../../src/net/native.js', () => ({
  loadNative: () => ({
    addon: {
      openNetlinkReceiver: (_protocol: number, groups: number[], rcvbuf: number, ref: boolean, cb: (e: string | null, d?: Buffer) => void) => {
        const r = { groups, rcvbuf, ref, cb, closed: false };
        receivers.push(r);
        return r;
      },
      closeReceiver: (h: { closed: boolean }) => void (h.closed = true),
    },
  }),
}));

const { RtnlClient, isOverflow } = await import('../../../src/net/rtnl.js');
const { parseNetlinkDatagram, RTM_DELADDR, RTM_NEWADDR } = await import('../../../src/net/rtnetlink-codec.js');

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
// Two messages in one datagram: RTM_NEWADDR (len 20: 4 payload bytes) then RTM_DELADDR (len 18: padded to 20).
const datagram = hex('14000000 1400 0000 01000000 00000000 aabbccdd' + '12000000 1500 0200 02000000 07000000 eeff 0000');

describe('parseNetlinkDatagram', () => {
  it('splits a datagram at 4-byte aligned nlmsghdr lengths', () => {
    expect(parseNetlinkDatagram(datagram)).toEqual([
      { type: RTM_NEWADDR, flags: 0, seq: 1, port: 0, data: hex('aabbccdd') },
      { type: RTM_DELADDR, flags: 2, seq: 2, port: 7, data: hex('eeff') },
    ]);
  });

  it('stops at a truncated or impossible header, never throws', () => {
    expect(parseNetlinkDatagram(datagram.subarray(0, 30))).toHaveLength(1);
    expect(parseNetlinkDatagram(hex('0f000000 1400 0000 01000000 00000000'))).toEqual([]);
    expect(parseNetlinkDatagram(Buffer.alloc(3))).toEqual([]);
  });
});

describe('RtnlClient on the addon', () => {
  it('joins its groups through the addon, delivers messages, and reports ENOBUFS as an overflow it survives', () => {
    new RtnlClient().close(); // request sockets stay on the netlink package
    expect(receivers).toEqual([]);
    const c = new RtnlClient([5, 9], { receiveBufferBytes: 4096 });
    expect(receivers.at(-1)).toMatchObject({ groups: [5, 9], rcvbuf: 4096, ref: false });
    const got: number[] = [];
    const errors: Error[] = [];
    c.onMessage((m) => got.push(m.type));
    c.onError((e) => errors.push(e));
    const r = receivers.at(-1)!;
    r.cb(null, datagram);
    expect(got).toEqual([RTM_NEWADDR, RTM_DELADDR]);
    r.cb('ENOBUFS: No buffer space available');
    expect(errors[0]).toMatchObject({ code: 'ENOBUFS', errno: 105, message: 'netlink notification socket: ENOBUFS: No buffer space available' });
    expect(isOverflow(errors[0])).toBe(true);
    expect(r.closed).toBe(false);
    r.cb(null, datagram);
    expect(got).toHaveLength(4);
    c.close();
    expect(r.closed).toBe(true);
  });

  it('closes the receiver on any other error (the client reopens it)', () => {
    const c = new RtnlClient([1], { ref: true });
    const r = receivers.at(-1)!;
    expect(r.ref).toBe(true);
    r.cb('EBADF: Bad file descriptor');
    expect(r.closed).toBe(true);
    c.close();
  });
});
