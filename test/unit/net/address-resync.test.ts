// Lost address notifications: after ENOBUFS, or once a failed event socket has been reopened, the address
// manager re-reads the kernel's addresses and reports each VIP it added that is gone, as RTM_DELADDR would
// have. Fake netlink sockets over a fake address table; fake timers for the reopen back-off.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { NetlinkMessage } from 'netlink';
import { RtnlAddressManager } from '../../../src/net/addresses.js';
import { RtnlClient, type NetlinkSocketLike, type OpenSocketOptions } from '../../../src/net/rtnl.js';
import {
  decodeAddress,
  encodeAddressRequest,
  NLMSG_ERROR,
  RTM_DELADDR,
  RTM_GETADDR,
  RTM_NEWADDR,
  RTNLGRP_IPV4_IFADDR,
  RTNLGRP_IPV6_IFADDR,
  type AddressInfo,
  type LinkInfo,
} from '../../../src/net/rtnetlink-codec.js';
import type { Family, VirtualAddress } from '../../../src/net/types.js';

const ETH0 = 7;
const message = (type: number, data: Buffer): NetlinkMessage => ({ type, flags: 0, seq: 0, port: 0, data }) as NetlinkMessage;
const ack = (): NetlinkMessage => message(NLMSG_ERROR, Buffer.alloc(20));
const enobufs = (): Error =>
  Object.assign(new Error('Error when receiving Netlink message: No buffer space available'), { errno: 105, code: 'ENOBUFS', syscall: 'recvmsg' });

class FakeSocket extends EventEmitter implements NetlinkSocketLike {
  closed = false;
  constructor(
    private readonly kernel: FakeKernel,
    readonly groups: number[],
  ) {
    super();
  }
  async request(type: number, data: Buffer): Promise<[NetlinkMessage[], unknown]> {
    if (this.closed) throw new Error('Netlink socket is closed');
    return [this.kernel.handle(type, data), {}];
  }
  close(): void {
    this.closed = true;
  }
}

/** An address table behind fake rtnetlink sockets. */
class FakeKernel {
  readonly table: AddressInfo[] = [];
  readonly sockets: FakeSocket[] = [];
  dumps = 0;
  failOpen = 0;
  readonly open = (opts: OpenSocketOptions): FakeSocket => {
    if (this.failOpen > 0) {
      this.failOpen--;
      throw Object.assign(new Error("Couldn't create netlink socket: too many open files"), { errno: 24, code: 'EMFILE' });
    }
    const s = new FakeSocket(this, opts.groups);
    this.sockets.push(s);
    return s;
  };

  handle(type: number, data: Buffer): NetlinkMessage[] {
    if (type === RTM_GETADDR) {
      this.dumps++;
      return this.table.filter((a) => data[0] === 0 || a.family === (data[0] === 2 ? 'inet' : 'inet6')).map((a) => message(RTM_NEWADDR, encode(a)));
    }
    const a = decodeAddress(data)!;
    if (type === RTM_NEWADDR && !this.find(a)) this.table.push(a);
    if (type === RTM_DELADDR) this.drop(a.address, false);
    return [ack()];
  }

  find(a: Pick<AddressInfo, 'address' | 'ifindex'>): AddressInfo | undefined {
    return this.table.find((x) => x.address === a.address && x.ifindex === a.ifindex);
  }

  /** Someone else deletes an address; `notify` false: its RTM_DELADDR is lost (buffer full, socket closed). */
  drop(address: string, notify: boolean): void {
    const i = this.table.findIndex((x) => x.address === address);
    if (i < 0) return;
    const [a] = this.table.splice(i, 1);
    if (notify) this.broadcast(RTM_DELADDR, a!);
  }

  broadcast(type: number, a: AddressInfo): void {
    const group = a.family === 'inet' ? RTNLGRP_IPV4_IFADDR : RTNLGRP_IPV6_IFADDR;
    for (const s of this.eventSockets()) if (s.groups.includes(group)) s.emit('message', [message(type, encode(a))]);
  }

  eventSockets(): FakeSocket[] {
    return this.sockets.filter((s) => !s.closed && s.groups.length > 0);
  }

  requestSocket(): FakeSocket {
    return this.sockets.find((s) => !s.closed && s.groups.length === 0)!;
  }
}

const encode = (a: AddressInfo): Buffer => encodeAddressRequest({ family: a.family, address: a.address, prefixLength: a.prefixLength, ifindex: a.ifindex });
const addr = (family: Family, address: string, prefixLength: number, ifindex = ETH0): AddressInfo => ({ family, address, prefixLength, ifindex, scope: 0, flags: 0 });

const vip4: VirtualAddress = { family: 'inet', address: '10.0.0.100', prefixLength: 24, interface: 'eth0' };
const vip4b: VirtualAddress = { family: 'inet', address: '10.0.0.101', prefixLength: 24, interface: 'eth0' };
const vip6: VirtualAddress = { family: 'inet6', address: '2001:db8::100', prefixLength: 64, interface: 'eth0' };

function setup() {
  const kernel = new FakeKernel();
  kernel.table.push(addr('inet', '10.0.0.1', 24), addr('inet', '10.0.0.2', 24));
  const warnings: string[] = [];
  const removed: [Family, string, number][] = [];
  const links = { get: async (name: string): Promise<LinkInfo> => ({ name, index: ETH0, up: true, running: true }) as LinkInfo };
  const m = new RtnlAddressManager({
    warn: (w) => warnings.push(w),
    events: new RtnlClient([RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR], { ref: true, openSocket: kernel.open }),
    requests: new RtnlClient([], { openSocket: kernel.open }),
    links,
  });
  m.onAddressRemoved((f, a, i) => removed.push([f, a, i]));
  return { kernel, m, warnings, removed };
}

/** Let promise chains (fake requests, the re-read) run without moving the fake clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
afterEach(() => void vi.useRealTimers());

describe('address manager: notifications lost to ENOBUFS', () => {
  it('re-reads the addresses and reports a VIP deleted meanwhile, as its RTM_DELADDR would have been', async () => {
    const { kernel, m, warnings, removed } = setup();
    await m.add(vip4);
    await m.add(vip4b);
    await m.add(vip6);
    kernel.drop('10.0.0.100', false); // deleted behind our back; the notification is lost
    kernel.drop('10.0.0.2', false); // not ours: not reported
    kernel.eventSockets()[0]!.emit('error', enobufs());
    await flush();
    expect(removed).toEqual([['inet', '10.0.0.100', ETH0]]);
    expect(kernel.dumps).toBe(2); // IPv4 and IPv6, each once
    expect(warnings).toEqual(['rtnetlink address monitor socket: receive buffer overrun, notifications lost - re-reading addresses']);
    expect(kernel.eventSockets()).toHaveLength(1); // ENOBUFS leaves the socket open
    m.close();
  });

  it('logs one overrun a minute with a count of the others, but re-reads after every one', async () => {
    const { kernel, m, warnings, removed } = setup();
    await m.add(vip4);
    const events = kernel.eventSockets()[0]!;
    events.emit('error', enobufs());
    await flush();
    kernel.drop('10.0.0.100', false);
    events.emit('error', enobufs());
    events.emit('error', enobufs()); // during the re-read: one more afterwards, not one each
    await flush();
    expect(removed).toEqual([['inet', '10.0.0.100', ETH0]]);
    expect(warnings).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(60_000);
    events.emit('error', enobufs());
    await flush();
    expect(warnings.at(-1)).toBe('rtnetlink address monitor socket: receive buffer overrun, notifications lost (2 more since the last report) - re-reading addresses');
    m.close();
  });

  it('dumps nothing without VIPs, and forgets VIPs it removed itself', async () => {
    const { kernel, m, removed } = setup();
    kernel.eventSockets()[0]!.emit('error', enobufs());
    await flush();
    expect(kernel.dumps).toBe(0);
    await m.add(vip4);
    await m.remove(vip4);
    kernel.eventSockets()[0]!.emit('error', enobufs());
    await flush();
    expect(kernel.dumps).toBe(0);
    expect(removed).toEqual([]);
    m.close();
  });

  it('retries a re-read that failed', async () => {
    const { kernel, m, warnings, removed } = setup();
    await m.add(vip4);
    kernel.drop('10.0.0.100', false);
    const requests = kernel.requestSocket();
    const real = requests.request.bind(requests);
    requests.request = async () => {
      requests.request = real;
      throw new Error('Timeout has been reached');
    };
    kernel.eventSockets()[0]!.emit('error', enobufs());
    await flush();
    expect(removed).toEqual([]);
    expect(warnings.at(-1)).toBe('cannot re-read addresses after lost rtnetlink notifications: Timeout has been reached - retrying');
    await vi.advanceTimersByTimeAsync(1000);
    expect(removed).toEqual([['inet', '10.0.0.100', ETH0]]);
    m.close();
  });
});

describe('address manager: a failed event socket', () => {
  it('is reopened after a back-off, with its groups, and the addresses are re-read', async () => {
    const { kernel, m, warnings, removed } = setup();
    await m.add(vip4);
    await m.add(vip6);
    const first = kernel.eventSockets()[0]!;
    first.emit('error', new Error('error when polling socket: bad file descriptor'));
    expect(first.closed).toBe(true);
    expect(warnings).toEqual(['rtnetlink address monitor socket failed (error when polling socket: bad file descriptor) - reopening it']);
    kernel.drop('2001:db8::100', false); // while no socket listens
    await vi.advanceTimersByTimeAsync(99);
    expect(kernel.eventSockets()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    const second = kernel.eventSockets()[0]!;
    expect(second).not.toBe(first);
    expect(second.groups).toEqual([RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR]);
    await flush();
    expect(warnings.at(-1)).toBe('rtnetlink address monitor socket reopened - re-reading addresses');
    expect(removed).toEqual([['inet6', '2001:db8::100', ETH0]]);
    // and notifications arrive on the new socket
    kernel.drop('10.0.0.100', true);
    expect(removed.at(-1)).toEqual(['inet', '10.0.0.100', ETH0]);
    m.close();
  });

  it('backs off 0.1 s doubling to 5 s while reopening fails, and stops when closed', async () => {
    const { kernel, m } = setup();
    kernel.failOpen = 7;
    kernel.eventSockets()[0]!.emit('error', new Error('error when polling socket'));
    const opened = (): number => kernel.eventSockets().length;
    for (const wait of [100, 200, 400, 800, 1600, 3200, 5000]) {
      await vi.advanceTimersByTimeAsync(wait - 1);
      expect(opened()).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
    }
    expect(kernel.failOpen).toBe(0);
    await vi.advanceTimersByTimeAsync(5000);
    expect(opened()).toBe(1);
    m.close();
    expect(opened()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failed request socket is reopened too; requests made meanwhile wait for it', async () => {
    const { kernel, m } = setup();
    const first = kernel.requestSocket();
    first.emit('error', new Error('error when polling socket'));
    expect(first.closed).toBe(true);
    let added = false;
    void m.add(vip4).then(() => (added = true));
    await flush();
    expect(added).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(added).toBe(true);
    expect(kernel.requestSocket()).not.toBe(first);
    expect(kernel.find({ address: '10.0.0.100', ifindex: ETH0 })).toBeDefined();
    m.close();
  });
});
