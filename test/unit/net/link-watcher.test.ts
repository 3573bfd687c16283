// LinkWatcher start-up: a dump on one socket and notifications on another, in no common order.
import { describe, expect, it } from 'vitest';
import { RtnlLinkWatcher } from '../../../src/net/links.js';
import { RTM_NEWLINK } from '../../../src/net/rtnetlink-codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const IFF_UP_RUNNING = 0x11043;
const IFF_UP_ONLY = 0x1003; // UP|BROADCAST|MULTICAST, no carrier

/** An ifinfomsg for index 7 "eth0" with the given flags. */
function link(flags: number): Buffer {
  const head = hex('00 00 0100 07000000 00000000 00000000');
  head.writeUInt32LE(flags, 8);
  return Buffer.concat([head, hex('0900 0300 6574683000 000000')]);
}

function fakeSockets() {
  let notify: ((m: { type: number; data: Buffer }) => void) | undefined;
  let reopened: (() => void) | undefined;
  const dumps: ((flags: number) => void)[] = [];
  return {
    sockets: {
      events: {
        onMessage: (h: typeof notify) => void (notify = h),
        onError: () => undefined,
        onReopened: (h: () => void) => void (reopened = h),
        close: () => undefined,
      },
      requests: {
        request: () =>
          new Promise<{ errno: number; messages: { type: number; data: Buffer }[] }>((resolve) =>
            dumps.push((flags) => resolve({ errno: 0, messages: [{ type: RTM_NEWLINK, data: link(flags) }] })),
          ),
        close: () => undefined,
      },
    },
    notify: (flags: number) => notify!({ type: RTM_NEWLINK, data: link(flags) }),
    reopened: () => reopened!(),
    /** Answers the oldest pending dump with the link in this state. */
    answerDump: (flags: number) => dumps.shift()!(flags),
    pendingDumps: () => dumps.length,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

/** Starts a watcher whose first dump (link without carrier) is answered after a carrier-up notification. */
async function startWithNotificationDuringDump(f: ReturnType<typeof fakeSockets>): Promise<RtnlLinkWatcher> {
  const w = new RtnlLinkWatcher(f.sockets as never);
  const starting = w.start();
  await tick();
  f.notify(IFF_UP_RUNNING); // handled before the dump's reply, which the kernel made earlier
  f.answerDump(IFF_UP_ONLY);
  await starting;
  return w;
}

describe('LinkWatcher start-up', () => {
  it('a carrier that comes up while the first dump is in flight is not overwritten by the older dump', async () => {
    const f = fakeSockets();
    const w = await startWithNotificationDuringDump(f);
    expect(w.get('eth0')).toMatchObject({ up: true, running: true });
    // and a second dump settles which was newer
    await tick();
    expect(f.pendingDumps()).toBe(1);
    const changes: boolean[] = [];
    w.onChange((l) => changes.push(l.running));
    f.answerDump(IFF_UP_RUNNING);
    await tick();
    expect(w.get('eth0')).toMatchObject({ running: true });
    expect(changes).toEqual([]);
  });

  it('when the notification was the older one, the second dump corrects it and reports the change', async () => {
    const f = fakeSockets();
    const w = await startWithNotificationDuringDump(f);
    const changes: boolean[] = [];
    w.onChange((l) => changes.push(l.running));
    await tick();
    f.answerDump(IFF_UP_ONLY);
    await tick();
    expect(w.get('eth0')).toMatchObject({ running: false });
    expect(changes).toEqual([false]);
  });

  it('without notifications during the dump: the dump is the state, and no second dump', async () => {
    const f = fakeSockets();
    const w = new RtnlLinkWatcher(f.sockets as never);
    const starting = w.start();
    await tick();
    f.answerDump(IFF_UP_ONLY);
    await starting;
    await tick();
    expect(w.get('eth0')).toMatchObject({ up: true, running: false });
    expect(f.pendingDumps()).toBe(0);
  });

  it('a reopened event socket (notifications lost meanwhile) re-reads the links and reports the difference', async () => {
    const f = fakeSockets();
    const w = new RtnlLinkWatcher(f.sockets as never);
    const starting = w.start();
    await tick();
    f.answerDump(IFF_UP_RUNNING);
    await starting;
    const changes: boolean[] = [];
    w.onChange((l) => changes.push(l.running));
    f.reopened();
    await tick();
    expect(f.pendingDumps()).toBe(1);
    f.answerDump(IFF_UP_ONLY); // the carrier went while no socket listened
    await tick();
    expect(changes).toEqual([false]);
    expect(w.get('eth0')).toMatchObject({ running: false });
  });
});
