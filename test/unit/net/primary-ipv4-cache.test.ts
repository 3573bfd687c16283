import { describe, expect, it } from 'vitest';
import { PrimaryIpv4Cache, type RtnlSource } from '../../../src/net/interfaces.js';
import { encodeAddressRequest, IFA_F_SECONDARY, RTM_NEWADDR } from '../../../src/net/rtnetlink-codec.js';

type Addr = { address: string; ifindex: number; secondary?: boolean };

/** rtnetlink with a settable address table: counts dumps, delivers notifications on demand. */
function fakeRtnl(table: Addr[]) {
  let dumps = 0;
  let notify: ((m: { type: number; data: Buffer }) => void) | undefined;
  let fail: ((e: Error) => void) | undefined;
  const message = (a: Addr): { type: number; data: Buffer } => {
    const data = encodeAddressRequest({ family: 'inet', address: a.address, prefixLength: 24, ifindex: a.ifindex });
    if (a.secondary) data[2] = IFA_F_SECONDARY;
    return { type: RTM_NEWADDR, data };
  };
  const source: RtnlSource = {
    request: async () => {
      dumps++;
      await new Promise((r) => setImmediate(r));
      return { errno: 0, messages: table.map(message) };
    },
    notifications: () => ({
      onMessage: (h) => void (notify = h),
      onError: (h) => void (fail = h),
    }),
  };
  return {
    source,
    dumps: () => dumps,
    notify: (a: Addr) => notify!(message(a)),
    lose: () => fail!(new Error('ENOBUFS')),
  };
}

/** A few turns of the event loop: the refresh runs on the next one, the fake dump takes one more. */
const settle = () => new Promise((r) => setTimeout(r, 5));

describe('PrimaryIpv4Cache', () => {
  it('asks the kernel once, then answers synchronously (a takeover advert waits for no round trip)', async () => {
    const rtnl = fakeRtnl([
      { address: '10.0.0.9', ifindex: 2, secondary: true },
      { address: '10.0.0.1', ifindex: 2 },
      { address: '10.1.0.1', ifindex: 3 },
    ]);
    const cache = new PrimaryIpv4Cache(rtnl.source);
    expect(await cache.get(2)).toBe('10.0.0.1');
    expect(cache.get(2)).toBe('10.0.0.1');
    expect(cache.get(2)).toBe('10.0.0.1');
    expect(rtnl.dumps()).toBe(1);
  });

  it('an address notification for the interface refreshes it at once; other interfaces are left alone', async () => {
    const table: Addr[] = [{ address: '10.0.0.1', ifindex: 2 }];
    const rtnl = fakeRtnl(table);
    const cache = new PrimaryIpv4Cache(rtnl.source);
    await cache.get(2);
    rtnl.notify({ address: '10.9.9.9', ifindex: 7 });
    expect(cache.get(2)).toBe('10.0.0.1');
    table.splice(0, 1, { address: '10.0.0.2', ifindex: 2 });
    rtnl.notify({ address: '10.0.0.2', ifindex: 2 });
    rtnl.notify({ address: '10.0.0.3', ifindex: 2, secondary: true });
    await settle();
    expect(rtnl.dumps()).toBe(2); // one read for the burst
    expect(cache.get(2)).toBe('10.0.0.2'); // already there: no look-up left for the next advert
  });

  it('a reply that raced a notification is not kept', async () => {
    const table: Addr[] = [{ address: '10.0.0.1', ifindex: 2 }];
    const rtnl = fakeRtnl(table);
    const cache = new PrimaryIpv4Cache(rtnl.source);
    const first = cache.get(2);
    table[0] = { address: '10.0.0.2', ifindex: 2 };
    rtnl.notify({ address: '10.0.0.2', ifindex: 2 });
    await first;
    await settle();
    expect(cache.get(2)).toBe('10.0.0.2');
  });

  it('lost notifications (ENOBUFS) drop everything; no address is remembered as none until one is added', async () => {
    const table: Addr[] = [];
    const rtnl = fakeRtnl(table);
    const cache = new PrimaryIpv4Cache(rtnl.source);
    expect(await cache.get(4)).toBeUndefined();
    expect(cache.get(4)).toBeUndefined();
    table.push({ address: '192.0.2.4', ifindex: 4 });
    rtnl.lose();
    await settle();
    expect(cache.get(4)).toBe('192.0.2.4');
  });
});
