// A scripted stand-in for the kernel side of a NETLINK_GENERIC socket, for client tests on the host.
import type { NetlinkPort } from '../../../src/ipvs/client.js';
import {
  GENL_ID_CTRL,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_MULTI,
  frameMessage,
  parseMessages,
  replyBuilders as B,
  type NetlinkMessage,
} from '../../../src/ipvs/codec.js';

export const FAMILY_ID = 0x20;

export interface Request extends NetlinkMessage {
  cmd: number;
}

/** How the fake answers one request: errno for an ACK/ERROR, or parts for a GET/dump. */
export type Answer = { errno: number } | { parts: Buffer[] } | 'silent';

export class FakeKernel implements NetlinkPort {
  readonly datagrams: Request[][] = [];
  readonly requests: Request[] = [];
  /** Requests sent whose answer has not been delivered yet. */
  readonly outstanding: Request[] = [];
  maxOutstanding = 0;
  hold = false;
  familyErrno = 0;
  sendErrno: number | undefined;
  closed = false;
  refs: boolean[] = [];
  answer: (r: Request) => Answer = () => ({ errno: 0 });
  private onMsg: (d: Buffer) => void = () => {};
  private onErr: (errno: number) => void = () => {};

  constructor(private readonly rcvbuf: number | undefined = 425984) {}

  send(datagram: Buffer, done: (errno: number | undefined) => void): void {
    const msgs = parseMessages(datagram).map((m) => ({ ...m, cmd: m.payload[0] ?? 0 }));
    if (this.sendErrno !== undefined) {
      const e = this.sendErrno;
      setImmediate(() => done(e));
      return;
    }
    this.datagrams.push(msgs);
    this.requests.push(...msgs);
    this.outstanding.push(...msgs);
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding.length);
    setImmediate(() => {
      done(undefined);
      if (!this.hold) this.release();
    });
  }

  /** Delivers the answers to every outstanding request (optionally in another order). */
  release(order: (rs: Request[]) => Request[] = (rs) => rs): void {
    const batch = order(this.outstanding.splice(0));
    for (const r of batch) this.deliver(r);
  }

  deliver(r: Request): void {
    if (r.type === GENL_ID_CTRL) {
      if (this.familyErrno) return this.onMsg(errorMsg(r, this.familyErrno));
      const payload = B.genl(1, [B.attr(2, B.cstring('IPVS')), B.attr(1, B.u16(FAMILY_ID))], 2);
      return this.onMsg(frameMessage({ type: GENL_ID_CTRL, flags: 0, seq: r.seq, pid: 1, payload }));
    }
    const a = this.answer(r);
    if (a === 'silent') return;
    if ('errno' in a) {
      if (a.errno !== 0 || r.flags & NLM_F_ACK) this.onMsg(errorMsg(r, a.errno));
      return;
    }
    if ((r.flags & NLM_F_DUMP) === NLM_F_DUMP) {
      // one part per datagram, then DONE, like a kernel dump over several recvmsg calls
      for (const p of a.parts) this.onMsg(frameMessage({ type: FAMILY_ID, flags: NLM_F_MULTI, seq: r.seq, pid: 1, payload: p }));
      this.onMsg(frameMessage({ type: NLMSG_DONE, flags: NLM_F_MULTI, seq: r.seq, pid: 1, payload: B.u32(0) }));
    } else {
      this.onMsg(frameMessage({ type: FAMILY_ID, flags: 0, seq: r.seq, pid: 1, payload: a.parts[0]! }));
    }
  }

  raiseError(errno: number): void {
    this.onErr(errno);
  }

  onMessage(handler: (datagram: Buffer) => void): void {
    this.onMsg = handler;
  }
  onError(handler: (errno: number) => void): void {
    this.onErr = handler;
  }
  receiveBufferSize(): number | undefined {
    return this.rcvbuf;
  }
  setRef(ref: boolean): void {
    this.refs.push(ref);
  }
  close(): void {
    this.closed = true;
  }
}

function errorMsg(r: Request, errno: number): Buffer {
  const e = Buffer.alloc(4);
  e.writeInt32LE(-errno);
  const echo = frameMessage({ type: r.type, flags: r.flags, seq: r.seq, pid: r.pid, payload: errno ? r.payload : Buffer.alloc(0) });
  return frameMessage({ type: NLMSG_ERROR, flags: errno ? 0 : 0x100, seq: r.seq, pid: 1, payload: Buffer.concat([e, echo]) });
}

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
