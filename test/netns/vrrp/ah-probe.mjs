// Runs inside a namespace (`ip netns exec NS node ah-probe.mjs DIR`): drives the compiled AH transport
// (src/net openVrrpTransport with ipsecAh) and codec for ah-wire.test.ts. One JSON request per stdin line,
// one JSON reply or event per stdout line.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = process.argv[2];
const net = await import(pathToFileURL(join(dir, 'net', 'index.js')).href);
const packet = await import(pathToFileURL(join(dir, 'vrrp', 'packet.js')).href);
const objects = new Map();
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const advert = (a) =>
  packet.encodeAdvert({ version: 2, family: 'inet', vrid: a.vrid ?? 51, priority: a.priority, advertIntCs: 100, addresses: a.addresses ?? ['192.168.60.200'], authType: 2 });

const ops = {
  async open({ key, opts }) {
    const t = await net.openVrrpTransport(opts);
    t.onPacket((p) => out({ event: 'packet', key, packet: { ...p, payload: p.payload.toString('hex') } }));
    t.onError((e) => out({ event: 'error', key, message: e.message }));
    objects.set(key, { t, seq: 0, timer: undefined });
  },
  /** One advert with this sequence number (the counter moves on from it unless `keep`). */
  async send({ key, priority, seq, keep }) {
    const o = objects.get(key);
    await o.t.send(advert({ priority }), { ahSequence: seq });
    if (!keep) o.seq = Math.max(o.seq, seq);
  },
  /** An advert every second with seq+1, like a VRRP master. */
  async advertise({ key, priority }) {
    const o = objects.get(key);
    clearInterval(o.timer);
    const tick = () => {
      o.seq++;
      o.t.send(advert({ priority }), { ahSequence: o.seq }).catch((e) => out({ event: 'error', key, message: e.message }));
    };
    tick();
    o.timer = setInterval(tick, 1000);
    return o.seq;
  },
  async silence({ key }) {
    const o = objects.get(key);
    clearInterval(o.timer);
    return o.seq;
  },
  async close({ key }) {
    const o = objects.get(key);
    clearInterval(o?.timer);
    o?.t.close();
    objects.delete(key);
  },
  async exit() {
    for (const o of objects.values()) {
      clearInterval(o.timer);
      o.t.close();
    }
    setImmediate(() => process.exit(0));
  },
};

createInterface({ input: process.stdin }).on('line', async (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    return;
  }
  try {
    const result = await ops[req.op](req.args ?? {});
    out({ id: req.id, ok: true, result: result ?? null });
  } catch (e) {
    out({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
out({ event: 'ready' });
