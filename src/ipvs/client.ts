// The IPVS generic-netlink client: one long-lived NETLINK_GENERIC socket, requests pipelined by sequence
// number. Every protocol byte lives in codec.ts; this module frames, sends, receives and matches replies.
import { createRequire } from 'node:module';
import {
  DecodeError,
  GENL_ID_CTRL,
  NETLINK_GENERIC,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  decodeDaemon,
  decodeDestination,
  decodeFamilyId,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  encodeGetConfig,
  encodeGetDaemons,
  encodeGetDests,
  encodeGetFamily,
  encodeGetInfo,
  encodeGetService,
  encodeGetServices,
  encodeOp,
  frameMessages,
  parseErrno,
  parseMessages,
  type DecodeOptions,
  type IpvsRequest,
} from './codec.js';
import { ERRNO, ipvsErrorMessage, makeIpvsError } from './errors.js';
import type { DestinationKey, IpvsOp } from './ops.js';
import {
  IpvsError,
  type Destination,
  type Info,
  type IpvsApi,
  type IpvsOperation,
  type Service,
  type ServiceEntry,
  type ServiceKey,
  type SyncDaemon,
  type Timeouts,
} from './types.js';

export { ipvsErrorMessage };
export type { IpvsOp };

export interface OpenIpvsOptions {
  /** Time without any reply after which outstanding requests fail with ETIMEDOUT (default 5000 ms). */
  timeoutMs?: number;
  /** Most requests in flight at once in apply() (default 256; lowered to what SO_RCVBUF can hold). */
  window?: number;
  /** Run `modprobe ip_vs` once if the IPVS family is unknown (default true). */
  modprobe?: boolean;
  /**
   * Ask an ACK for every write request (default false: only the last request of each datagram asks for one,
   * the others answer only on error; results are the same, with far fewer replies to read).
   */
  ackEach?: boolean;
  /**
   * Opens another transport like the client's own. When given, getAll() runs its GET_DEST dumps on up to
   * `dumpSockets` sockets at once (a socket runs one dump at a time): the extra ones are opened on first
   * use and closed with the client. openIpvs() sets it.
   */
  openPort?: (() => NetlinkPort) | undefined;
  /** Sockets getAll() may use at once, the client's own included (default 6; 1 = one dump after another). */
  dumpSockets?: number;
}

/**
 * The datagram transport under the client: a bound NETLINK_GENERIC socket. openIpvs() uses the netlink
 * package's RawNetlinkSocket; tests plug in a fake kernel.
 */
export interface NetlinkPort {
  send(datagram: Buffer, done: (errno: number | undefined) => void): void;
  /** Each datagram in a Buffer of its own that the handler may keep (the client keeps views into it). */
  onMessage(handler: (datagram: Buffer) => void): void;
  /** Receive errors (ENOBUFS when replies were dropped). */
  onError(handler: (errno: number) => void): void;
  /** SO_RCVBUF as the kernel accounts it, if known. */
  receiveBufferSize(): number | undefined;
  /** Keep the event loop alive (true) while requests are outstanding. */
  setRef(ref: boolean): void;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_WINDOW = 256;
/** Kernel memory one queued reply costs against SO_RCVBUF (skb truesize of an ACK, rounded up). */
const REPLY_COST_BYTES = 1536;
/** Requests are sent in datagrams of at most this size (well under SO_SNDBUF). */
const MAX_DATAGRAM_BYTES = 48 * 1024;
const WANTED_RCVBUF = 8 * 1024 * 1024;
const DEFAULT_DUMP_SOCKETS = 6;
/** getAll() hands out GET_DEST dumps to its sockets this many at a time. */
const DUMPS_PER_TURN = 16;

type Kind = 'ack' | 'get' | 'dump';

interface Item {
  op: IpvsOperation;
  type: number;
  kind: Kind;
  payload: Buffer;
}

interface Outcome {
  error?: IpvsError | undefined;
  parts: Buffer[];
}

interface Pending {
  item: Item;
  index: number;
  parts: Buffer[];
  batch: Batch;
  /** On the last request of a datagram: the seqs of that datagram, settled when this one is answered. */
  group?: number[] | undefined;
}

interface Batch {
  items: Item[];
  results: Array<Outcome | undefined>;
  next: number;
  inFlight: Set<number>;
  dumpInFlight: boolean;
  remaining: number;
  timer?: NodeJS.Timeout | undefined;
  resolve: (r: Outcome[]) => void;
}

function requestItem(r: IpvsRequest, familyId: number, kind?: Kind): Item {
  return { op: r.op, type: familyId, kind: kind ?? (r.dump ? 'dump' : 'get'), payload: r.payload };
}

export class IpvsClient implements IpvsApi {
  private seq = Math.floor(Math.random() * 0x3fffffff);
  private readonly pending = new Map<number, Pending>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private active: Batch | undefined;
  private familyId = 0;
  private readonly timeoutMs: number;
  private readonly ackEach: boolean;
  private window: number;
  /** Extra clients (own sockets, same family) for concurrent dumps in getAll(); opened lazily. */
  private readonly helpers: IpvsClient[] = [];
  private readonly dumpSockets: number;

  private constructor(
    private readonly port: NetlinkPort,
    private readonly options: OpenIpvsOptions,
  ) {
    this.dumpSockets = Math.max(1, Math.floor(options.dumpSockets ?? DEFAULT_DUMP_SOCKETS));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ackEach = options.ackEach ?? false;
    const rcvbuf = port.receiveBufferSize();
    const fits = rcvbuf ? Math.max(8, Math.floor(rcvbuf / REPLY_COST_BYTES)) : DEFAULT_WINDOW;
    this.window = Math.max(1, Math.min(options.window ?? DEFAULT_WINDOW, fits));
    port.onMessage((d) => this.receive(d));
    port.onError((errno) => this.receiveError(errno));
    port.setRef(false);
  }

  /** Opens a client over a given transport and resolves the IPVS family (used by openIpvs and by tests). */
  static async connect(port: NetlinkPort, options: OpenIpvsOptions = {}): Promise<IpvsClient> {
    const client = new IpvsClient(port, options);
    try {
      let id = await client.resolveFamily();
      if (id === undefined && options.modprobe !== false) {
        await modprobe('ip_vs');
        id = await client.resolveFamily();
      }
      if (id === undefined) {
        throw new IpvsError(
          'resolve-family',
          ERRNO.ENOPROTOOPT,
          'Protocol not available: the kernel has no IPVS generic netlink family (is the ip_vs module loaded?)',
        );
      }
      client.familyId = id;
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** Requests in flight at once in apply(). */
  get windowSize(): number {
    return this.window;
  }

  /**
   * Sends every op (each with its own sequence number and NLM_F_ACK) without waiting for the previous ACK,
   * at most `windowSize` in flight, and returns one entry per op, in order: undefined when the kernel
   * accepted it, else its IpvsError. Does not stop at the first error; never rejects.
   */
  async apply(ops: readonly IpvsOp[]): Promise<Array<IpvsError | undefined>> {
    const out: Array<IpvsError | undefined> = new Array(ops.length).fill(undefined);
    const items: Item[] = [];
    const where: number[] = [];
    ops.forEach((o, i) => {
      try {
        items.push(requestItem(encodeOp(o), this.familyId, 'ack'));
        where.push(i);
      } catch (e) {
        out[i] = toIpvsError(o.op, e);
      }
    });
    const results = await this.exchange(items);
    results.forEach((r, k) => {
      out[where[k]!] = r.error;
    });
    return out;
  }

  /**
   * Every service with its destinations: one GET_SERVICE dump, then one GET_DEST dump per service (the
   * kernel has no dump of every destination). A netlink socket runs one dump at a time, so with `openPort`
   * the GET_DEST dumps are spread over up to `dumpSockets` sockets; results keep the services' order.
   */
  async getAll(options: DecodeOptions = {}): Promise<ServiceEntry[]> {
    const services = await this.getServices(options);
    const results = await this.dumpAll(services.map((s) => requestItem(encodeGetDests(s.key), this.familyId)));
    return services.map((service, i) => {
      const r = results[i]!;
      if (r.error) throw r.error;
      return { service, destinations: decodeAll('get-dest', r.parts, (p) => decodeDestination(p, service.key.family, options)) };
    });
  }

  async getInfo(): Promise<Info> {
    const parts = await this.one(encodeGetInfo());
    return decodeOne('get-info', parts, decodeInfo);
  }
  /** Every service (one GET_SERVICE dump); `{ stats: false }` skips decoding their counters. */
  async getServices(options: DecodeOptions = {}): Promise<Service[]> {
    return decodeAll('get-service', await this.one(encodeGetServices()), (p) => decodeService(p, options));
  }
  async getService(key: ServiceKey): Promise<Service> {
    const req = safeEncode('get-service', () => encodeGetService(key));
    return decodeOne('get-service', await this.one(req), (p) => decodeService(p));
  }
  async getDestinations(key: ServiceKey): Promise<Destination[]> {
    // GET_DEST for an unknown service is an empty dump, not ESRCH: ask for the service first, like ipvsadm.
    const service = await this.getService(key);
    const req = safeEncode('get-dest', () => encodeGetDests(key));
    return decodeAll('get-dest', await this.one(req), (p) => decodeDestination(p, service.key.family));
  }
  async addService(service: Service): Promise<void> {
    await this.write({ op: 'add-service', service });
  }
  async editService(service: Service): Promise<void> {
    await this.write({ op: 'edit-service', service });
  }
  async delService(key: ServiceKey): Promise<void> {
    await this.write({ op: 'del-service', key });
  }
  async addDestination(key: ServiceKey, dest: Destination): Promise<void> {
    await this.write({ op: 'add-dest', key, dest });
  }
  async editDestination(key: ServiceKey, dest: Destination): Promise<void> {
    await this.write({ op: 'edit-dest', key, dest });
  }
  async delDestination(key: ServiceKey, dest: DestinationKey): Promise<void> {
    await this.write({ op: 'del-dest', key, dest });
  }
  async getTimeouts(): Promise<Timeouts> {
    return decodeOne('get-timeout', await this.one(encodeGetConfig()), decodeTimeouts);
  }
  async setTimeouts(timeouts: Timeouts): Promise<void> {
    await this.write({ op: 'set-timeout', timeouts });
  }
  async getDaemons(): Promise<SyncDaemon[]> {
    return decodeAll('get-daemon', await this.one(encodeGetDaemons()), decodeDaemon);
  }
  async startDaemon(daemon: SyncDaemon): Promise<void> {
    await this.write({ op: 'start-daemon', daemon });
  }
  async stopDaemon(state: SyncDaemon['state']): Promise<void> {
    await this.write({ op: 'stop-daemon', state });
  }
  async zero(key?: ServiceKey): Promise<void> {
    await this.write({ op: 'zero', key });
  }
  async flush(): Promise<void> {
    await this.write({ op: 'flush' });
  }

  /** Closes the socket; outstanding and later requests fail with an IpvsError (EBADF). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.helpers.splice(0)) h.close();
    if (this.active) this.failRest(this.active, closedError);
    this.pending.clear();
    this.port.close();
  }

  // ---- internals ----

  private async write(op: IpvsOp): Promise<void> {
    const [err] = await this.apply([op]);
    if (err) throw err;
  }

  /** Runs dump items over this client's socket and helper sockets, `DUMPS_PER_TURN` at a time per socket. */
  private async dumpAll(items: Item[]): Promise<Outcome[]> {
    const wanted = Math.min(this.dumpSockets, Math.ceil(items.length / DUMPS_PER_TURN));
    if (wanted <= 1 || !this.options.openPort || this.closed) return this.exchange(items);
    while (this.helpers.length < wanted - 1) {
      let port: NetlinkPort;
      try {
        port = this.options.openPort();
      } catch {
        break; // out of sockets or memory: go on with fewer
      }
      const helper = new IpvsClient(port, { ...this.options, openPort: undefined });
      helper.familyId = this.familyId;
      this.helpers.push(helper);
    }
    const workers = [this as IpvsClient, ...this.helpers.slice(0, wanted - 1)];
    const results: Outcome[] = new Array(items.length);
    let next = 0;
    await Promise.all(
      workers.map(async (w) => {
        while (next < items.length) {
          const start = next;
          next = Math.min(items.length, start + DUMPS_PER_TURN);
          const out = await w.exchange(items.slice(start, next));
          out.forEach((r, k) => (results[start + k] = r));
        }
      }),
    );
    return results;
  }

  private async one(req: IpvsRequest): Promise<Buffer[]> {
    const [r] = await this.exchange([requestItem(req, this.familyId)]);
    if (r!.error) throw r!.error;
    return r!.parts;
  }

  private async resolveFamily(): Promise<number | undefined> {
    const [r] = await this.exchange([
      { op: 'resolve-family', type: GENL_ID_CTRL, kind: 'get', payload: encodeGetFamily() },
    ]);
    if (r!.error) {
      if (r!.error.errno === ERRNO.ENOENT) return undefined;
      throw r!.error;
    }
    const first = r!.parts[0];
    let id: number | undefined;
    try {
      id = first ? decodeFamilyId(first) : undefined;
    } catch (e) {
      // connect() rejects with IpvsError only: a malformed nlctrl reply is a protocol error (found by fuzzing).
      throw new IpvsError('resolve-family', ERRNO.EPROTO, `Protocol error: ${(e as Error).message}`);
    }
    if (id === undefined) throw new IpvsError('resolve-family', ERRNO.EPROTO, 'Protocol error: no family id in nlctrl reply');
    return id;
  }

  /** Runs items in order, pipelined, one batch at a time per client. */
  private exchange(items: Item[]): Promise<Outcome[]> {
    const run = this.queue.then(() => this.runBatch(items));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private runBatch(items: Item[]): Promise<Outcome[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.closed) return Promise.resolve(items.map((it) => ({ error: closedError(it.op), parts: [] })));
    return new Promise<Outcome[]>((resolve) => {
      const batch: Batch = {
        items,
        results: new Array(items.length).fill(undefined),
        next: 0,
        inFlight: new Set(),
        dumpInFlight: false,
        remaining: items.length,
        resolve,
      };
      this.active = batch;
      this.port.setRef(true);
      this.armTimer(batch);
      this.pump(batch);
    });
  }

  /**
   * Sends the next datagram of the batch. Write requests of one datagram form a group: with `ackEach` off
   * only the last one asks for an ACK, the others answer only when they fail. The kernel handles the
   * messages of a datagram in order and queues their replies in order, so when the last one's reply
   * arrives every earlier one without an error reply has succeeded.
   */
  private pump(batch: Batch): void {
    if (this.closed || batch.dumpInFlight) return;
    const chosen: Item[] = [];
    const first = batch.next;
    let bytes = 0;
    const perDatagram = Math.max(1, Math.ceil(this.window / 2));
    while (batch.next < batch.items.length && batch.inFlight.size + chosen.length < this.window && chosen.length < perDatagram) {
      const item = batch.items[batch.next]!;
      if (chosen.length > 0 && (item.kind !== chosen[0]!.kind || item.kind === 'dump')) break;
      if (item.kind === 'dump' && batch.inFlight.size > 0) break;
      if (chosen.length > 0 && bytes + item.payload.length + 16 > MAX_DATAGRAM_BYTES) break;
      chosen.push(item);
      bytes += item.payload.length + 16;
      batch.next++;
      if (item.kind === 'dump') batch.dumpInFlight = true;
    }
    if (chosen.length === 0) return;
    const seqs: number[] = [];
    const group: number[] | undefined = chosen[0]!.kind === 'ack' ? seqs : undefined;
    const msgs = chosen.map((item, i) => {
      const seq = this.nextSeq();
      seqs.push(seq);
      const last = i === chosen.length - 1;
      const flags =
        item.kind === 'dump'
          ? NLM_F_REQUEST | NLM_F_DUMP
          : item.kind === 'ack'
            ? NLM_F_REQUEST | (this.ackEach || last ? NLM_F_ACK : 0)
            : NLM_F_REQUEST;
      this.pending.set(seq, { item, index: first + i, parts: [], batch, group: last && !this.ackEach ? group : undefined });
      batch.inFlight.add(seq);
      return { type: item.type, flags, seq, pid: 0, payload: item.payload };
    });
    this.port.send(frameMessages(msgs), (errno) => {
      if (errno === undefined) return;
      // The kernel took none of this datagram: fail exactly those requests.
      for (const seq of seqs) {
        const p = this.pending.get(seq);
        if (p) this.finish(seq, p, makeIpvsError(p.item.op, errno, 'send'), false);
      }
    });
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    if (this.seq === 0) this.seq = 1;
    return this.seq;
  }

  private receive(datagram: Buffer): void {
    let rearmed: Batch | undefined; // once per datagram (a dump datagram holds many messages)
    for (const m of parseMessages(datagram)) {
      const p = this.pending.get(m.seq);
      if (!p) continue; // stale (timed out) or not ours
      if (rearmed !== p.batch) this.armTimer((rearmed = p.batch));
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        // ERROR carries the ACK (0) or -errno; DONE ends a dump and carries the dump's own error.
        const errno = parseErrno(m.payload);
        this.finish(m.seq, p, errno === 0 ? undefined : makeIpvsError(p.item.op, errno));
      } else if (m.type === NLMSG_NOOP || m.type === NLMSG_OVERRUN) {
        continue;
      } else {
        p.parts.push(m.payload); // a view into the datagram, which is this handler's to keep (see NetlinkPort)
        if (p.item.kind === 'get') this.finish(m.seq, p, undefined);
      }
    }
  }

  /** Replies were lost (ENOBUFS): what is in flight has an unknown outcome; shrink the window and go on. */
  private receiveError(errno: number): void {
    const lost = [...this.pending.entries()];
    if (lost.length === 0) return;
    this.window = Math.max(1, Math.floor(this.window / 2));
    const detail = 'netlink replies were dropped; the outcome of this request is unknown';
    for (const [seq, p] of lost) this.finish(seq, p, makeIpvsError(p.item.op, errno, detail), false);
  }

  /** Records a request's outcome; `fromKernel` when it is the kernel's reply (which also settles its group). */
  private finish(seq: number, p: Pending, error: IpvsError | undefined, fromKernel = true): void {
    this.pending.delete(seq);
    const batch = p.batch;
    batch.inFlight.delete(seq);
    if (batch.results[p.index]) return;
    batch.results[p.index] = { error, parts: p.parts };
    if (p.group && fromKernel) {
      // Replies come in order: whatever in this datagram has not reported an error by now succeeded.
      for (const s of p.group) {
        const q = this.pending.get(s);
        if (!q || s === seq) continue;
        this.pending.delete(s);
        batch.inFlight.delete(s);
        if (!batch.results[q.index]) {
          batch.results[q.index] = { error: undefined, parts: q.parts };
          batch.remaining--;
        }
      }
    }
    if (p.item.kind === 'dump') batch.dumpInFlight = false;
    batch.remaining--;
    if (batch.remaining === 0) this.endBatch(batch);
    else if (batch.inFlight.size <= Math.floor(this.window / 2)) this.pump(batch);
  }

  private endBatch(batch: Batch): void {
    if (batch.timer) clearTimeout(batch.timer);
    batch.timer = undefined;
    if (this.active === batch) this.active = undefined;
    if (this.pending.size === 0) this.port.setRef(false);
    batch.resolve(batch.results.map((r, i) => r ?? { error: closedError(batch.items[i]!.op), parts: [] }));
  }

  private armTimer(batch: Batch): void {
    if (batch.timer) batch.timer.refresh();
    else batch.timer = setTimeout(() => this.timeout(batch), this.timeoutMs);
  }

  private timeout(batch: Batch): void {
    batch.timer = undefined;
    const detail = `no reply from the kernel within ${this.timeoutMs} ms`;
    this.failRest(batch, (op) => makeIpvsError(op, ERRNO.ETIMEDOUT, detail));
  }

  /** Ends a batch now: everything without a result (in flight or not yet sent) gets `error(op)`. */
  private failRest(batch: Batch, error: (op: IpvsOperation) => IpvsError): void {
    for (const seq of batch.inFlight) this.pending.delete(seq);
    batch.inFlight.clear();
    batch.dumpInFlight = false;
    batch.items.forEach((it, i) => {
      if (!batch.results[i]) batch.results[i] = { error: error(it.op), parts: [] };
    });
    batch.remaining = 0;
    this.endBatch(batch);
  }
}

function closedError(op: IpvsOperation): IpvsError {
  return new IpvsError(op, 9, 'Bad file descriptor: the IPVS client is closed');
}

function toIpvsError(op: IpvsOperation, e: unknown): IpvsError {
  if (e instanceof IpvsError) return e;
  return new IpvsError(op, ERRNO.EINVAL, e instanceof Error ? e.message : String(e));
}

function safeEncode(op: IpvsOperation, f: () => IpvsRequest): IpvsRequest {
  try {
    return f();
  } catch (e) {
    throw toIpvsError(op, e);
  }
}

function decodeAll<T>(op: IpvsOperation, parts: Buffer[], decode: (p: Buffer) => T): T[] {
  try {
    return parts.map((p) => decode(p));
  } catch (e) {
    throw new IpvsError(op, ERRNO.EPROTO, `Protocol error: ${e instanceof DecodeError || e instanceof Error ? e.message : String(e)}`);
  }
}

function decodeOne<T>(op: IpvsOperation, parts: Buffer[], decode: (p: Buffer) => T): T {
  const first = parts[0];
  if (!first) throw new IpvsError(op, ERRNO.EPROTO, 'Protocol error: empty reply');
  return decodeAll(op, [first], decode)[0]!;
}

function modprobe(module: string): Promise<void> {
  // node:child_process is loaded here, on first use: short-lived users (lvsadm) rarely need it
  const { execFile } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve) => {
    execFile('modprobe', [module], { timeout: 10_000 }, () => resolve());
  });
}

// ---- the real transport: netlink 0.3.0 RawNetlinkSocket ----

interface RawSocketLike {
  on(event: 'message', cb: (msg: Buffer) => void): unknown;
  on(event: 'error', cb: (err: { errno?: number; code?: string }) => void): unknown;
  send(msg: Uint8Array, options: object, cb: (err?: { errno?: number }) => void): void;
  setRecvBufferSize(n: number): unknown;
  getRecvBufferSize(): number;
  ref(): void;
  unref(): void;
  close(): void;
}

const errnoOf = (e: { errno?: number } | undefined): number => Math.abs(e?.errno ?? ERRNO.EPROTO);

/** A NETLINK_GENERIC socket from the netlink package, as a NetlinkPort. Throws IpvsError if it cannot be opened. */
export function openNetlinkPort(): NetlinkPort {
  const require = createRequire(import.meta.url);
  // The raw socket only: the package's index loads every family it supports (see src/net/rtnl.ts).
  const netlink = require('netlink/dist/raw.js') as { RawNetlinkSocket: new (protocol: number, options?: object) => RawSocketLike };
  let sock: RawSocketLike;
  try {
    sock = new netlink.RawNetlinkSocket(NETLINK_GENERIC);
  } catch (e) {
    const errno = errnoOf(e as { errno?: number });
    throw makeIpvsError('resolve-family', errno, 'cannot open a generic netlink socket');
  }
  try {
    sock.setRecvBufferSize(WANTED_RCVBUF); // capped by net.core.rmem_max
  } catch {
    // keep the default
  }
  let open = true;
  return {
    send(datagram, done) {
      if (!open) return done(9);
      sock.send(datagram, {}, (err) => done(err ? errnoOf(err) : undefined));
    },
    onMessage(handler) {
      sock.on('message', handler);
    },
    onError(handler) {
      sock.on('error', (err) => handler(errnoOf(err)));
    },
    receiveBufferSize() {
      try {
        return sock.getRecvBufferSize();
      } catch {
        return undefined;
      }
    },
    setRef(ref) {
      if (!open) return;
      if (ref) sock.ref();
      else sock.unref();
    },
    close() {
      if (!open) return;
      open = false;
      sock.close();
    },
  };
}

/** Opens a netlink socket and resolves the IPVS family (running `modprobe ip_vs` once if it is unknown). */
export function openIpvs(options: OpenIpvsOptions = {}): Promise<IpvsClient> {
  let port: NetlinkPort;
  try {
    port = openNetlinkPort();
  } catch (e) {
    return Promise.reject(toIpvsError('resolve-family', e));
  }
  return IpvsClient.connect(port, { openPort: openNetlinkPort, ...options });
}
