// IpvsClient against a scripted fake kernel: family resolution, pipelining, seq matching, windows,
// dumps, timeouts, lost replies, closing. The real kernel is exercised in test/vm/ipvs.
import { describe, expect, it } from 'vitest';
import { IpvsClient } from '../../../src/ipvs/client.js';
import { CMD, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, replyBuilders as B } from '../../../src/ipvs/codec.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import { IpvsError, type ServiceKey } from '../../../src/ipvs/types.js';
import { FAMILY_ID, FakeKernel, tick, type Request } from './fake-kernel.js';

const key = (port: number): ServiceKey => ({ kind: 'fwmark', family: 'inet', fwmark: port });
const addOps = (n: number): IpvsOp[] =>
  Array.from({ length: n }, (_, i) => ({
    op: 'add-service',
    service: { key: key(i + 1), scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
  }));
/** The fwmark a request's service attribute names (AF attr 8 bytes, then FWMARK attr: value at +8+4). */
const fwmarkOf = (r: Request): number => r.payload.readUInt32LE(4 + 4 + 8 + 4);

function servicePart(fwmark: number): Buffer {
  const S = B.SVC_ATTR;
  return B.genl(CMD.NEW_SERVICE, [
    B.attr(B.CMD_ATTR.SERVICE, [
      B.attr(S.AF, B.u16(2)),
      B.attr(S.FWMARK, B.u32(fwmark)),
      B.attr(S.SCHED_NAME, B.cstring('rr')),
      B.attr(S.FLAGS, Buffer.concat([B.u32(2), B.u32(0xffffffff)])),
      B.attr(S.TIMEOUT, B.u32(0)),
      B.attr(S.NETMASK, Buffer.from([255, 255, 255, 255])),
    ]),
  ]);
}
function destPart(last: number): Buffer {
  const D = B.DEST_ATTR;
  return B.genl(CMD.NEW_DEST, [
    B.attr(B.CMD_ATTR.DEST, [
      B.attr(D.ADDR_FAMILY, B.u16(2)),
      B.attr(D.ADDR, Buffer.from([10, 0, 0, last, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
      B.attr(D.PORT, B.be16(80)),
      B.attr(D.FWD_METHOD, B.u32(0)),
      B.attr(D.WEIGHT, B.u32(1)),
      B.attr(D.U_THRESH, B.u32(0)),
      B.attr(D.L_THRESH, B.u32(0)),
    ]),
  ]);
}

async function connect(k = new FakeKernel(), options = {}): Promise<[IpvsClient, FakeKernel]> {
  const c = await IpvsClient.connect(k, options);
  return [c, k];
}

describe('IpvsClient', () => {
  it('resolves the IPVS family through nlctrl and uses its id', async () => {
    const [c, k] = await connect();
    expect(k.requests[0]).toMatchObject({ type: 16, cmd: 3, flags: NLM_F_REQUEST });
    await c.flush();
    expect(k.requests[1]).toMatchObject({ type: FAMILY_ID, cmd: CMD.FLUSH, flags: NLM_F_REQUEST | NLM_F_ACK });
  });

  it('reports a missing ip_vs module as "Protocol not available" (ENOPROTOOPT), without crashing', async () => {
    const k = new FakeKernel();
    k.familyErrno = 2;
    const err = await IpvsClient.connect(k, { modprobe: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ op: 'resolve-family', errno: 92 });
    expect((err as Error).message).toMatch(/Protocol not available.*ip_vs/);
    expect(k.closed).toBe(true);
  });

  it('apply() sends every request before any reply, one datagram, unique seqs; ackEach: all ACKed, matched by seq in any order', async () => {
    const [c, k] = await connect(new FakeKernel(), { ackEach: true });
    k.hold = true;
    k.answer = (r) => ({ errno: fwmarkOf(r) % 3 === 0 ? 17 : 0 });
    const before = k.requests.length;
    const p = c.apply(addOps(10));
    await tick();
    await tick();
    const sent = k.requests.slice(before);
    expect(sent).toHaveLength(10); // all written while no reply has come back
    expect(k.datagrams.at(-1)).toHaveLength(10);
    expect(new Set(sent.map((r) => r.seq)).size).toBe(10);
    for (const r of sent) expect(r.flags).toBe(NLM_F_REQUEST | NLM_F_ACK);
    k.release((rs) => rs.reverse()); // answered out of order: matched by seq
    const res = await p;
    expect(res.map((e) => e?.errno)).toEqual([undefined, undefined, 17, undefined, undefined, 17, undefined, undefined, 17, undefined]);
    expect(res[2]).toMatchObject({ op: 'add-service', message: 'Service already exists' });
  });

  it('default: only the last request of a datagram asks for an ACK; failures still land on their own op', async () => {
    const [c, k] = await connect(new FakeKernel(), { window: 8 });
    k.answer = (r) => ({ errno: fwmarkOf(r) % 5 === 0 ? 2 : 0 });
    const before = k.requests.length;
    const res = await c.apply(addOps(20));
    expect(res.map((e) => e?.errno ?? 0)).toEqual(Array.from({ length: 20 }, (_, i) => ((i + 1) % 5 === 0 ? 2 : 0)));
    const dgrams = k.datagrams.slice(-Math.ceil(20 / 4));
    expect(dgrams.map((d) => d.length)).toEqual([4, 4, 4, 4, 4]); // window 8 → datagrams of 4, two in flight
    for (const d of dgrams) expect(d.map((r) => r.flags & NLM_F_ACK)).toEqual([0, 0, 0, NLM_F_ACK]);
    expect(k.requests.length - before).toBe(20);
    expect(k.maxOutstanding).toBeLessThanOrEqual(8);
  });

  it('default: an unanswered request before the ACKed one is only settled by that ACK, not earlier', async () => {
    const [c, k] = await connect(new FakeKernel(), { window: 8 });
    k.hold = true;
    const p = c.apply(addOps(3));
    let settled = false;
    void p.then(() => (settled = true));
    await tick();
    await tick();
    const [a, b, last] = k.outstanding.splice(0) as [Request, Request, Request];
    k.deliver(a); // no reply for a success without ACK
    k.deliver(b);
    await tick();
    expect(settled).toBe(false);
    k.deliver(last);
    expect((await p).every((e) => e === undefined)).toBe(true);
  });

  it('keeps at most `window` requests in flight and still completes large batches', async () => {
    const [c, k] = await connect(new FakeKernel(), { window: 8 });
    expect(c.windowSize).toBe(8);
    const res = await c.apply(addOps(100));
    expect(res.every((e) => e === undefined)).toBe(true);
    expect(k.maxOutstanding).toBeLessThanOrEqual(8);
    expect(k.requests.filter((r) => r.cmd === CMD.NEW_SERVICE)).toHaveLength(100);
    expect(k.requests.filter((r) => r.cmd === CMD.NEW_SERVICE).map(fwmarkOf)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('sizes the window from SO_RCVBUF so ACKs cannot overflow it', async () => {
    const [c] = await connect(new FakeKernel(16 * 1536));
    expect(c.windowSize).toBe(16);
  });

  it('an op the codec rejects fails alone with EINVAL and is not sent', async () => {
    const [c, k] = await connect();
    const before = k.requests.length;
    const res = await c.apply([{ op: 'del-service', key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: 'bogus', port: 1 } }, { op: 'flush' }]);
    expect(res[0]).toMatchObject({ op: 'del-service', errno: 22 });
    expect(res[1]).toBeUndefined();
    expect(k.requests.length - before).toBe(1);
  });

  it('verbs reject with IpvsError carrying ipvsadm wording', async () => {
    const [c, k] = await connect();
    k.answer = (r) => (r.cmd === CMD.GET_SERVICE ? { errno: 3 } : r.cmd === CMD.NEW_DEST ? { errno: 17 } : { errno: 0 });
    await expect(c.getService(key(1))).rejects.toMatchObject({ op: 'get-service', errno: 3, message: 'No such service' });
    await expect(c.getDestinations(key(1))).rejects.toMatchObject({ op: 'get-service', errno: 3 });
    await expect(c.addDestination(key(1), { family: 'inet', address: '10.0.0.1', port: 80, forward: 'masq', weight: 1, upperThreshold: 0, lowerThreshold: 0 })).rejects.toMatchObject({
      op: 'add-dest',
      errno: 17,
      message: 'Destination already exists',
    });
  });

  it('dumps: GET_SERVICE with NLM_F_DUMP, parts over several datagrams until DONE; getAll adds GET_DEST dumps', async () => {
    const [c, k] = await connect();
    k.answer = (r) =>
      r.cmd === CMD.GET_SERVICE ? { parts: [servicePart(5), servicePart(6)] } : r.cmd === CMD.GET_DEST ? { parts: fwmarkOf(r) === 5 ? [destPart(1), destPart(2)] : [] } : { errno: 0 };
    const all = await c.getAll();
    expect(all.map((e) => [e.service.key, e.destinations.map((d) => d.address)])).toEqual([
      [{ kind: 'fwmark', family: 'inet', fwmark: 5 }, ['10.0.0.1', '10.0.0.2']],
      [{ kind: 'fwmark', family: 'inet', fwmark: 6 }, []],
    ]);
    const dumps = k.requests.filter((r) => r.cmd === CMD.GET_SERVICE || r.cmd === CMD.GET_DEST);
    for (const r of dumps) expect(r.flags).toBe(NLM_F_REQUEST | NLM_F_DUMP);
    // one dump at a time: each dump was alone in its datagram
    for (const d of k.datagrams) if (d.some((r) => (r.flags & NLM_F_DUMP) === NLM_F_DUMP)) expect(d).toHaveLength(1);
  });

  it('getAll with openPort: GET_DEST dumps run concurrently over lazily opened extra sockets, same result, closed with the client', async () => {
    const N = 100;
    const answer = (r: Request): ReturnType<FakeKernel['answer']> =>
      r.cmd === CMD.GET_SERVICE
        ? { parts: Array.from({ length: N }, (_, i) => servicePart(i + 1)) }
        : r.cmd === CMD.GET_DEST
          ? { parts: Array.from({ length: fwmarkOf(r) % 4 }, (_, d) => destPart(d + 1)) }
          : { errno: 0 };
    const kernels: FakeKernel[] = [];
    /** Most sockets with a dump outstanding at one time. */
    let mostBusy = 0;
    const make = (): FakeKernel => {
      const k = new FakeKernel();
      k.answer = answer;
      const send = k.send.bind(k);
      k.send = (d, done) => {
        send(d, done);
        mostBusy = Math.max(mostBusy, kernels.filter((x) => x.outstanding.length > 0).length);
      };
      kernels.push(k);
      return k;
    };
    const [seq, k1] = await connect(new FakeKernel(), { dumpSockets: 1, openPort: make });
    k1.answer = answer;
    const expected = await seq.getAll();
    expect(kernels).toHaveLength(0); // dumpSockets: 1 never opens another socket
    seq.close();

    const [c, k] = await connect(make(), { dumpSockets: 4, openPort: make });
    expect(kernels).toHaveLength(1); // nothing opened before it is needed
    const all = await c.getAll();
    expect(all).toEqual(expected);
    expect(all.map((e) => e.service.key)).toEqual(Array.from({ length: N }, (_, i) => key(i + 1)));
    expect(kernels).toHaveLength(4);
    expect(mostBusy).toBeGreaterThan(1);
    for (const x of kernels) {
      // every socket took part, one dump at a time per socket
      expect(x.requests.some((r) => r.cmd === CMD.GET_DEST)).toBe(true);
      for (const d of x.datagrams) expect(d).toHaveLength(1);
      expect(x.maxOutstanding).toBe(1);
    }
    expect(k.requests.filter((r) => r.cmd === CMD.GET_SERVICE)).toHaveLength(1);
    expect(kernels.flatMap((x) => x.requests).filter((r) => r.cmd === CMD.GET_DEST)).toHaveLength(N);

    // reused on the next call, not reopened; an error of one dump is thrown as before
    const bad = (r: Request): ReturnType<FakeKernel['answer']> => (r.cmd === CMD.GET_DEST && fwmarkOf(r) === 77 ? { errno: 22 } : answer(r));
    for (const x of kernels) x.answer = bad;
    await expect(c.getAll()).rejects.toMatchObject({ op: 'get-dest', errno: 22 });
    expect(kernels).toHaveLength(4);
    c.close();
    for (const x of kernels) expect(x.closed).toBe(true);
  });

  it('getAll with openPort: a small table and a failing openPort stay on the one socket', async () => {
    const answer = (r: Request): ReturnType<FakeKernel['answer']> =>
      r.cmd === CMD.GET_SERVICE ? { parts: [servicePart(5), servicePart(6)] } : r.cmd === CMD.GET_DEST ? { parts: [destPart(1)] } : { errno: 0 };
    let opened = 0;
    const [c, k] = await connect(new FakeKernel(), {
      openPort: () => {
        opened++;
        throw new Error('EMFILE');
      },
    });
    k.answer = answer;
    expect((await c.getAll()).map((e) => e.destinations.length)).toEqual([1, 1]);
    expect(opened).toBe(0);
    k.answer = (r) => (r.cmd === CMD.GET_SERVICE ? { parts: Array.from({ length: 40 }, (_, i) => servicePart(i + 1)) } : answer(r));
    expect(await c.getAll()).toHaveLength(40);
    expect(opened).toBe(1);
    c.close();
  });

  it('times out: no reply within timeoutMs → ETIMEDOUT for every op; late replies are ignored; the client still works', async () => {
    const [c, k] = await connect(new FakeKernel(), { timeoutMs: 30 });
    k.hold = true;
    const res = await c.apply(addOps(3));
    expect(res.map((e) => e?.errno)).toEqual([110, 110, 110]);
    expect(res[0]!.message).toMatch(/30 ms/);
    k.answer = () => ({ errno: 17 });
    k.release(); // stale replies for the timed-out seqs
    k.hold = false;
    k.answer = () => ({ errno: 0 });
    expect(await c.apply(addOps(2))).toEqual([undefined, undefined]);
  });

  it('lost replies (ENOBUFS) fail the in-flight ops with ENOBUFS and halve the window', async () => {
    const [c, k] = await connect(new FakeKernel(), { window: 8 });
    k.hold = true;
    const p = c.apply(addOps(4));
    await tick();
    await tick();
    k.raiseError(105);
    const res = await p;
    expect(res.map((e) => e?.errno)).toEqual([105, 105, 105, 105]);
    expect(c.windowSize).toBe(4);
  });

  it('a failed send fails exactly the requests of that datagram', async () => {
    const [c, k] = await connect();
    k.sendErrno = 1;
    const res = await c.apply(addOps(2));
    expect(res.map((e) => e?.message)).toEqual(['Permission denied (you must be root) (send)', 'Permission denied (you must be root) (send)']);
  });

  it('close() fails outstanding requests with EBADF and later ones too, without throwing', async () => {
    const [c, k] = await connect();
    k.hold = true;
    const p = c.apply(addOps(2));
    await tick();
    c.close();
    expect((await p).map((e) => e?.errno)).toEqual([9, 9]);
    expect(k.closed).toBe(true);
    await expect(c.flush()).rejects.toMatchObject({ errno: 9 });
  });

  it('keeps the event loop referenced only while requests are outstanding', async () => {
    const [c, k] = await connect();
    await c.flush();
    expect(k.refs.at(-1)).toBe(false);
    expect(k.refs).toContain(true);
  });
});
