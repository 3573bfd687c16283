// Thin rtnetlink client over the `netlink` package's NetlinkSocket layer (not RtNetlinkSocket, which drops
// message types and errnos: peers.md §3.3). Requests are serialized per socket because the kernel runs one
// dump at a time per socket (EBUSY otherwise). Request sockets never join multicast groups: notifications
// triggered by our own request carry our sequence number and would be mistaken for its reply.

import { createRequire } from 'node:module';
import type { NetlinkMessage, NetlinkSocket } from 'netlink';
import {
  errnoName,
  NETLINK_ROUTE,
  NLM_F_ACK,
  NLMSG_DONE,
  NLMSG_ERROR,
  parseErrorPayload,
} from './rtnetlink-codec.js';

const require = createRequire(import.meta.url);
// CommonJS package: load through require so both tsc (NodeNext) and Node agree on its shape. Only its
// socket layer: the package's index also loads its nl80211, WireGuard and rtnetlink struct tables, 1.2 s
// of module loading per process in the test VM (~0.1 s here) for nothing we use.
const netlink = require('netlink/dist/netlink.js') as Pick<typeof import('netlink'), 'createNetlink'>;

export interface RtnlReply {
  /** 0 for success/ACK, else the positive errno from NLMSG_ERROR. */
  errno: number;
  messages: { type: number; data: Buffer }[];
}

const REQUEST_TIMEOUT_MS = 5000;

export class RtnlClient {
  private readonly socket: NetlinkSocket;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(groups: number[] = [], ref = false) {
    this.socket = netlink.createNetlink(NETLINK_ROUTE, { ref } as never);
    // Without a listener an 'error' event (ENOBUFS on a busy multicast socket) would crash the process.
    this.socket.on('error', () => undefined);
    for (const g of groups) this.socket.addMembership(g);
  }

  /** Unsolicited messages (multicast notifications, stray ACKs); type kept, unlike RtNetlinkSocket. */
  onMessage(handler: (msg: { type: number; data: Buffer }) => void): void {
    this.socket.on('message', (msgs: NetlinkMessage[]) => {
      for (const m of msgs) {
        if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) continue;
        try {
          handler({ type: m.type, data: m.data });
        } catch {
          // a handler bug must not kill the socket's receive path
        }
      }
    });
  }

  /** ENOBUFS and other socket errors (the kernel dropped notifications: callers should resync). */
  onError(handler: (err: Error) => void): void {
    this.socket.on('error', (e: Error) => handler(e));
  }

  request(type: number, payload: Buffer, flags: number): Promise<RtnlReply> {
    const run = async (): Promise<RtnlReply> => {
      if (this.closed) throw new Error('rtnetlink socket is closed');
      const [msgs] = await this.socket.request(type, payload, {
        flags: flags | NLM_F_ACK,
        checkError: false,
        timeout: REQUEST_TIMEOUT_MS,
      });
      const first = msgs[0];
      if (first !== undefined && first.type === NLMSG_ERROR) {
        return { errno: parseErrorPayload(first.data), messages: [] };
      }
      return { errno: 0, messages: msgs.map((m) => ({ type: m.type, data: m.data })) };
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

export function describeErrno(errno: number): string {
  return errnoName(errno);
}
