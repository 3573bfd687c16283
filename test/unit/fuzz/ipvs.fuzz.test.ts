// Fuzz: IPVS generic netlink replies (real captured datagrams, test/unit/ipvs/captured.ts, mutated byte-wise
// and attribute-wise) into codec.ts's decoders and into IpvsClient's receive path over a fake NetlinkPort.
// Budget and seeds: budget.ts.
import { endianness } from 'node:os';
import fc from 'fast-check';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IpvsClient, type OpenIpvsOptions } from '../../../src/ipvs/client.js';
import {
  CMD,
  DecodeError,
  GENL_ID_CTRL,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_DUMP,
  NLM_F_MULTI,
  decodeDaemon,
  decodeDestination,
  decodeFamilyId,
  decodeInfo,
  decodeService,
  decodeStats,
  decodeTimeouts,
  frameMessage,
  parseAttrs,
  parseErrno,
  parseGenl,
  parseMessages,
  replyBuilders as B,
} from '../../../src/ipvs/codec.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { IpvsError, type ServiceKey } from '../../../src/ipvs/types.js';
import { CAPTURE } from '../ipvs/captured.js';
import { FAMILY_ID, FakeKernel, tick, type Request } from '../ipvs/fake-kernel.js';
import { byteMutation, fullGc, mutateBytes, params, settledHeap, TIMEOUT_MS, watchUnhandledRejections, type ByteMutation } from './budget.js';

const unhandled = watchUnhandledRejections();
afterAll(() => {
  unhandled.stop();
  expect(unhandled.seen).toEqual([]);
});

// ---- seeds: what a real kernel sent ----

const RECEIVED = CAPTURE.filter((c) => c.dir === '<').map((c) => ({ step: c.step, datagram: Buffer.from(c.hex, 'hex') }));
const partsOf = (step: string, type = FAMILY_ID): Buffer[] =>
  RECEIVED.filter((r) => r.step === step).flatMap((r) => parseMessages(r.datagram).filter((m) => m.type === type).map((m) => Buffer.from(m.payload)));
/** Every generic netlink payload the kernel sent (services, destinations, daemon, info, timeouts). */
const PAYLOADS = RECEIVED.flatMap((r) => parseMessages(r.datagram).filter((m) => m.type === FAMILY_ID).map((m) => Buffer.from(m.payload)));
const SERVICES = partsOf('getAll').filter((p) => p[0] === CMD.NEW_SERVICE);
const DESTS = partsOf('getAll').filter((p) => p[0] === CMD.NEW_DEST);
const INFO = partsOf('getInfo')[0]!;
const TIMEOUTS = partsOf('getTimeouts')[0]!;
const DAEMONS = partsOf('getDaemons');
const FAMILY_REPLY = B.genl(1, [B.attr(2, B.cstring('IPVS')), B.attr(1, B.u16(FAMILY_ID))], 2);

// ---- attribute-aware mutations (random bytes rarely make a consistent TLV, so mutate the headers) ----

/** Offsets of every attribute header in a genl payload, nested ones included. */
function attrHeaders(b: Buffer): number[] {
  const out: number[] = [];
  const walk = (start: number, end: number, depth: number): void => {
    let o = start;
    const found: number[] = [];
    while (o + 4 <= end) {
      const len = b.readUInt16LE(o);
      if (len < 4 || o + len > end) return; // not a clean attribute list
      found.push(o);
      o += (len + 3) & ~3;
    }
    if (o < end - 3) return;
    out.push(...found);
    if (depth < 3) for (const f of found) walk(f + 4, f + b.readUInt16LE(f), depth + 1);
  };
  walk(4, b.length, 0);
  return out;
}

type AttrMutation =
  | { kind: 'len'; which: number; value: number }
  | { kind: 'type'; which: number; value: number }
  | { kind: 'drop' | 'dup'; which: number }
  | { kind: 'bytes'; muts: ByteMutation[] };

const attrMutation: fc.Arbitrary<AttrMutation> = fc.oneof(
  fc.record({ kind: fc.constant('len' as const), which: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 3, 4, 5, 6, 7, 8, 12, 16, 20, 0xffff), fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ kind: fc.constant('type' as const), which: fc.nat(), value: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(0x8001, 0x8002, 0x4001, 0x3fff)) }),
  fc.record({ kind: fc.constantFrom('drop' as const, 'dup' as const), which: fc.nat() }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('bytes' as const), muts: fc.array(byteMutation, { minLength: 1, maxLength: 4 }) }) },
);

function mutatePayload(src: Buffer, muts: readonly AttrMutation[]): Buffer {
  let b: Buffer = Buffer.from(src);
  for (const m of muts) {
    if (m.kind === 'bytes') {
      b = mutateBytes(b, m.muts);
      continue;
    }
    const heads = attrHeaders(b);
    if (heads.length === 0) continue;
    const at = heads[m.which % heads.length]!;
    const len = b.readUInt16LE(at);
    if (m.kind === 'len') b.writeUInt16LE(m.value, at);
    else if (m.kind === 'type') b.writeUInt16LE(m.value, at + 2);
    else {
      const span = Math.min(b.length - at, (len + 3) & ~3);
      const piece = b.subarray(at, at + span);
      b = m.kind === 'drop' ? Buffer.concat([b.subarray(0, at), b.subarray(at + span)]) : Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
    }
  }
  return b;
}

// ---- decoders ----

/** A decoder's outcome: a value, or the documented DecodeError; anything else fails the property. */
function decodes<T>(f: () => T): T | DecodeError {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw new Error(`decoder threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  }
}

const PORT = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;
const U32 = (n: number | undefined): boolean => n === undefined || (Number.isInteger(n) && n >= 0 && n <= 0xffffffff);

describe.runIf(endianness() === 'LE')('fuzz: IPVS reply decoders', () => {
  it('the seeds decode', () => {
    expect(SERVICES.map((p) => decodeService(p).key.kind)).toEqual(['addr', 'addr', 'fwmark']);
    expect(DESTS.length).toBeGreaterThan(0);
    for (const p of DESTS) decodeDestination(p, 'inet');
    expect(decodeInfo(INFO).version).toBeGreaterThan(0);
    expect(decodeDaemon(DAEMONS[0]!).mcastInterface).toBe('lo');
    expect(decodeFamilyId(FAMILY_REPLY)).toBe(FAMILY_ID);
  });

  it('mutated replies: every decoder returns a well-formed value or throws DecodeError', () => {
    const seeds = [...PAYLOADS, FAMILY_REPLY];
    fc.assert(
      fc.property(fc.nat({ max: seeds.length - 1 }), fc.array(attrMutation, { minLength: 1, maxLength: 6 }), (which, muts) => {
        const p = mutatePayload(seeds[which]!, muts);
        const svc = decodes(() => decodeService(p));
        if (!(svc instanceof DecodeError)) {
          expect(['inet', 'inet6']).toContain(svc.key.family);
          if (svc.key.kind === 'addr') expect(svc.key.port, 'port').toSatisfy(PORT);
          expect(svc.flags, 'flags').toSatisfy(U32);
          expect(svc.timeout, 'timeout').toSatisfy(U32);
          expect(typeof svc.scheduler).toBe('string');
        }
        for (const family of ['inet', 'inet6'] as const) {
          const d = decodes(() => decodeDestination(p, family, { stats: which % 2 === 0 }));
          if (!(d instanceof DecodeError)) {
            expect(d.port, 'port').toSatisfy(PORT);
            for (const v of [d.weight, d.upperThreshold, d.lowerThreshold, d.activeConns, d.inactiveConns, d.persistConns]) expect(v).toSatisfy(U32);
            expect(d.address.length).toBeGreaterThan(0);
          }
        }
        decodes(() => decodeDaemon(p));
        decodes(() => decodeTimeouts(p));
        decodes(() => decodeInfo(p));
        const id = decodes(() => decodeFamilyId(p));
        if (typeof id === 'number') expect(PORT(id)).toBe(true);
        const st = decodeStats(p);
        for (const v of Object.values(st)) expect(v >= 0n && v <= 0xffffffffffffffffn).toBe(true);
        parseAttrs(p);
        decodes(() => parseGenl(p));
        expect(Number.isInteger(parseErrno(p))).toBe(true);
      }),
      params(12000, 21),
    );
  }, TIMEOUT_MS);

  it('mutated datagrams: parseMessages frames only what fits', () => {
    fc.assert(
      fc.property(fc.nat({ max: RECEIVED.length - 1 }), fc.array(byteMutation, { minLength: 1, maxLength: 6 }), (which, muts) => {
        const d = mutateBytes(RECEIVED[which]!.datagram, muts);
        let end = 0;
        for (const m of parseMessages(d)) {
          expect(m.payload.byteOffset - d.byteOffset).toBeGreaterThanOrEqual(end + 16);
          end = m.payload.byteOffset - d.byteOffset + m.payload.length;
          expect(end).toBeLessThanOrEqual(d.length);
        }
      }),
      params(3000, 22),
    );
  }, TIMEOUT_MS);
});

// ---- the client's receive path ----

/** What the fake kernel does with one request. */
type Reply =
  | { kind: 'good' }
  | { kind: 'silent' }
  | { kind: 'errno'; errno: number }
  | { kind: 'mutatedParts'; muts: AttrMutation[]; extra: number }
  | { kind: 'garbage'; seed: number; seq: 'match' | 'other' | 'keep'; muts: ByteMutation[] }
  | { kind: 'control'; type: number; payload: ByteMutation[] }
  | { kind: 'doneEarly'; errno: number }
  | { kind: 'twice' }
  | { kind: 'enobufs' }
  | { kind: 'sendFails'; errno: number };

const reply: fc.Arbitrary<Reply> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'good' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'silent' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('errno' as const), errno: fc.oneof(fc.constantFrom(1, 2, 3, 17, 22, 105, 4095), fc.integer({ min: -5, max: 5000 })) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('mutatedParts' as const), muts: fc.array(attrMutation, { minLength: 1, maxLength: 4 }), extra: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('garbage' as const), seed: fc.nat(), seq: fc.constantFrom('match' as const, 'match' as const, 'other' as const, 'keep' as const), muts: fc.array(byteMutation, { maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('control' as const), type: fc.constantFrom(NLMSG_NOOP, NLMSG_OVERRUN, NLMSG_ERROR, NLMSG_DONE, 0, 5, 0xffff, GENL_ID_CTRL), payload: fc.array(byteMutation, { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('doneEarly' as const), errno: fc.constantFrom(0, 0, 2, 22) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'twice' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'enobufs' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('sendFails' as const), errno: fc.constantFrom(1, 9, 105, 111) }) },
);

/** A fake kernel whose replies follow a script; after the script, it answers well. */
class ScriptedKernel extends FakeKernel {
  private handler: (d: Buffer) => void = () => undefined;
  private script: readonly Reply[] = [];
  private next = 0;
  /** Replies of the script played so far withheld an answer on purpose (only a timeout ends those). */
  withheld = false;
  constructor() {
    super();
    this.hold = true;
    this.answer = (r) => goodAnswer(r);
  }
  load(script: readonly Reply[]): void {
    this.script = script;
    this.next = 0;
    this.withheld = false;
    // FakeKernel's records of every request: cleared, or they would be what grows.
    this.requests.length = 0;
    this.datagrams.length = 0;
    this.refs.splice(0, this.refs.length - 1);
  }
  override onMessage(handler: (d: Buffer) => void): void {
    super.onMessage(handler);
    this.handler = handler;
  }
  override send(datagram: Buffer, done: (errno: number | undefined) => void): void {
    const r = this.script[this.next];
    if (r?.kind === 'sendFails') {
      this.next++;
      this.sendErrno = r.errno;
      super.send(datagram, done);
      this.sendErrno = undefined;
      return;
    }
    super.send(datagram, done);
  }
  /** Answers what is outstanding, each request by the next reply of the script. */
  answerOutstanding(): void {
    const batch = this.outstanding.splice(0);
    for (const req of batch) {
      const r: Reply = this.script[this.next++] ?? { kind: 'good' };
      this.play(req, r, batch);
    }
  }
  private play(req: Request, r: Reply, batch: readonly Request[]): void {
    const frame = (type: number, flags: number, payload: Buffer, seq = req.seq): Buffer => frameMessage({ type, flags, seq, pid: 1, payload });
    switch (r.kind) {
      case 'good':
      case 'sendFails':
        return this.deliver(req);
      case 'silent':
        this.withheld = true;
        return;
      case 'errno': {
        const e = Buffer.alloc(4);
        e.writeInt32LE(-r.errno | 0);
        return this.handler(frame(NLMSG_ERROR, 0, Buffer.concat([e, req.payload.subarray(0, 16)])));
      }
      case 'mutatedParts': {
        const parts = goodParts(req);
        const mutated = [...parts, ...Array.from({ length: r.extra }, (_, i) => parts[i % Math.max(1, parts.length)] ?? INFO)].map((p, i) =>
          i % 2 === 0 ? mutatePayload(p, r.muts) : p,
        );
        const dump = (req.flags & NLM_F_DUMP) === NLM_F_DUMP;
        for (const p of mutated) this.handler(frame(req.type === GENL_ID_CTRL ? GENL_ID_CTRL : FAMILY_ID, dump ? NLM_F_MULTI : 0, p));
        if (dump) this.handler(frame(NLMSG_DONE, NLM_F_MULTI, B.u32(0)));
        else if (parts.length === 0) this.deliver(req); // a write: parts it did not ask for, then its ACK
        return;
      }
      case 'garbage': {
        const seed = RECEIVED[r.seed % RECEIVED.length]!.datagram;
        const d = Buffer.from(seed);
        const seq = r.seq === 'match' ? batch[r.seed % batch.length]!.seq : r.seq === 'other' ? (req.seq + 1 + (r.seed % 5)) >>> 0 : undefined;
        if (seq !== undefined) for (let o = 0; o + 16 <= d.length; ) {
          const len = d.readUInt32LE(o);
          if (len < 16) break;
          d.writeUInt32LE(seq, o + 8);
          o += (len + 3) & ~3;
        }
        this.handler(mutateBytes(d, r.muts));
        // The request itself is then answered (or was, if the garbage carried its seq).
        return this.deliver(req);
      }
      case 'control':
        this.handler(frame(r.type, 0, mutateBytes(Buffer.alloc(20), r.payload)));
        return this.deliver(req);
      case 'doneEarly':
        return this.handler(frame(NLMSG_DONE, NLM_F_MULTI, B.u32(-r.errno >>> 0)));
      case 'twice':
        this.deliver(req);
        return this.deliver(req);
      case 'enobufs':
        this.raiseError(105);
        return this.deliver(req); // a late reply for a request the client already failed
    }
  }
}

function goodParts(r: Request): Buffer[] {
  if (r.type === GENL_ID_CTRL) return [FAMILY_REPLY];
  switch (r.cmd) {
    case CMD.GET_SERVICE:
      return (r.flags & NLM_F_DUMP) === NLM_F_DUMP ? SERVICES : SERVICES.slice(1, 2);
    case CMD.GET_DEST:
      return DESTS;
    case CMD.GET_INFO:
      return [INFO];
    case CMD.GET_CONFIG:
      return [TIMEOUTS];
    case CMD.GET_DAEMON:
      return DAEMONS;
    default:
      return [];
  }
}

function goodAnswer(r: Request): { errno: number } | { parts: Buffer[] } {
  const parts = goodParts(r);
  return parts.length > 0 || (r.flags & NLM_F_DUMP) === NLM_F_DUMP ? { parts } : { errno: 0 };
}

const SVC_KEY: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 };
const writeOp = fc.constantFrom<IpvsOp>(
  { op: 'add-service', service: { key: SVC_KEY, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' } },
  { op: 'del-service', key: { kind: 'fwmark', family: 'inet6', fwmark: 7 } },
  { op: 'add-dest', key: SVC_KEY, dest: { family: 'inet', address: '10.1.0.1', port: 80, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0 } },
  { op: 'flush' },
  { op: 'zero' },
  { op: 'set-timeout', timeouts: { tcp: 900, tcpFin: 120, udp: 300 } },
);

type Call = { kind: 'getAll' | 'getServices' | 'getService' | 'getDestinations' | 'getInfo' | 'getTimeouts' | 'getDaemons' } | { kind: 'apply'; ops: IpvsOp[] };
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.constantFrom<Call>({ kind: 'getAll' }, { kind: 'getServices' }, { kind: 'getService' }, { kind: 'getDestinations' }, { kind: 'getInfo' }, { kind: 'getTimeouts' }, { kind: 'getDaemons' }),
  fc.record({ kind: fc.constant('apply' as const), ops: fc.array(writeOp, { minLength: 1, maxLength: 12 }) }),
);

function invoke(c: IpvsClient, k: Call): Promise<unknown> {
  switch (k.kind) {
    case 'apply':
      return c.apply(k.ops);
    case 'getService':
      return c.getService(SVC_KEY);
    case 'getDestinations':
      return c.getDestinations(SVC_KEY);
    default:
      return c[k.kind]();
  }
}

const TIMEOUT = 1000;
const internals = (c: IpvsClient): { pending: Map<number, unknown>; active: unknown } => c as unknown as { pending: Map<number, unknown>; active: unknown };

type Outcome = { state: 'ok' | 'error' | 'pending'; value: unknown };

/** Lets the call run while the kernel answers by its script; its outcome, or 'pending' after `rounds`. */
async function drive(k: ScriptedKernel, p: Promise<unknown>, rounds = 40): Promise<Outcome> {
  let outcome: Outcome = { state: 'pending', value: undefined };
  p.then(
    (value) => void (outcome = { state: 'ok', value }),
    (value: unknown) => void (outcome = { state: 'error', value }),
  );
  for (let i = 0; i < rounds && outcome.state === 'pending'; i++) {
    await tick();
    k.answerOutstanding();
    await tick();
  }
  return outcome;
}

/** drive(), then the timeout if a reply was withheld; the outcome must be settled. */
async function settle(k: ScriptedKernel, p: Promise<unknown>): Promise<Outcome> {
  let out = await drive(k, p);
  if (out.state === 'pending') {
    // Only a withheld reply may leave a request to the timeout.
    expect(k.withheld).toBe(true);
    vi.advanceTimersByTime(TIMEOUT + 1);
    out = await drive(k, p, 5);
  }
  expect(out.state).not.toBe('pending');
  if (out.state === 'error') expect(out.value).toBeInstanceOf(IpvsError);
  return out;
}

/** A client over `k`, connected while `k` answers well. */
async function connected(k: ScriptedKernel, options: OpenIpvsOptions): Promise<IpvsClient> {
  const out = await drive(k, IpvsClient.connect(k, { modprobe: false, timeoutMs: TIMEOUT, ...options }));
  expect(out.state).toBe('ok');
  return out.value as IpvsClient;
}

describe.runIf(endianness() === 'LE')('fuzz: IpvsClient receive path', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => void vi.useRealTimers());

  it('connect: garbage family replies resolve to a client or reject with IpvsError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(reply, { minLength: 1, maxLength: 3 }), async (script) => {
        const k = new ScriptedKernel();
        k.load(script);
        const out = await settle(k, IpvsClient.connect(k, { modprobe: false, timeoutMs: TIMEOUT }));
        if (out.state === 'ok') (out.value as IpvsClient).close();
        expect(vi.getTimerCount()).toBe(0);
      }),
      params(1500, 23),
    );
  }, TIMEOUT_MS);

  it('any call under scripted garbage settles (by reply, or by its timeout when a reply was withheld), errors are IpvsError, nothing is left pending, the client still works', async () => {
    await fc.assert(
      fc.asyncProperty(call, fc.array(reply, { maxLength: 12 }), fc.boolean(), async (k0, script, ackEach) => {
        const k = new ScriptedKernel();
        const c = await connected(k, { ackEach, window: 8 });
        k.load(script);
        const out = await settle(k, invoke(c, k0));
        if (k0.kind === 'apply') {
          expect(out.state).toBe('ok'); // apply() reports per op, never rejects
          const res = out.value as unknown[];
          expect(res).toHaveLength(k0.ops.length);
          for (const e of res) if (e !== undefined) expect(e).toBeInstanceOf(IpvsError);
        }
        expect(internals(c).pending.size).toBe(0);
        expect(internals(c).active).toBeUndefined();
        expect(vi.getTimerCount()).toBe(0);
        expect(k.refs.at(-1)).toBe(false);
        // Garbage over: the kernel answers well again and so does the client.
        k.load([]);
        expect(await drive(k, c.getInfo())).toEqual({ state: 'ok', value: decodeInfo(INFO) });
        c.close();
      }),
      params(4000, 24),
    );
  }, TIMEOUT_MS);

  const gc = fullGc();
  it.skipIf(gc === undefined)('a long-lived client under garbage: heap growth stays bounded', async () => {
    const k = new ScriptedKernel();
    const c = await connected(k, { window: 8 });
    const cases = fc.sample(fc.tuple(call, fc.array(reply, { maxLength: 8 })), { numRuns: 300, seed: params(1, 25).seed });
    const round = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const [k0, script] = cases[i % cases.length]!;
        k.load(script);
        await settle(k, invoke(c, k0));
      }
    };
    await round(300);
    const before = settledHeap(gc!);
    await round(1500);
    const after = settledHeap(gc!);
    expect(internals(c).pending.size).toBe(0);
    expect(after - before).toBeLessThan(2 * 1024 * 1024);
    c.close();
  }, TIMEOUT_MS);
});
