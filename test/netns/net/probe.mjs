// Runs inside a network namespace (`ip netns exec NS node probe.mjs DIR`) and drives the compiled src/net
// adapters for a test: one JSON request per stdin line, one JSON reply or event per stdout line.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const net = await import(pathToFileURL(join(process.argv[2], 'net', 'index.js')).href);
const objects = new Map();
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const hex = (b) => Buffer.from(b).toString('hex');

/** Inodes of this process's sockets (/proc/self/fd -> socket:[N]). */
function ownSocketInodes() {
  const inodes = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      /* closed meanwhile */
    }
  }
  return inodes;
}

/** Bytes waiting in this process's IPv4 raw sockets of `protocol`, per socket inode (/proc/net/raw, this netns). */
function rawQueues(inodes, protocol) {
  const q = new Map();
  for (const line of readFileSync('/proc/net/raw', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || parseInt(f[1].split(':')[1], 16) !== protocol || !inodes.has(f[9])) continue;
    q.set(f[9], parseInt(f[4].split(':')[1], 16));
  }
  return q;
}

const ops = {
  async interfaceInfo({ name }) {
    return net.interfaceInfo(name);
  },
  async openTransport({ key, opts }) {
    const t = await net.openVrrpTransport(opts);
    t.onPacket((p) => out({ event: 'packet', key, packet: { ...p, payload: hex(p.payload) } }));
    t.onError((e) => out({ event: 'error', key, message: e.message }));
    objects.set(key, t);
  },
  async send({ key, payload }) {
    await objects.get(key).send(Buffer.from(payload, 'hex'));
  },
  /** Starts a send and reads the interface's tx counter before yielding to the event loop, then after it settles. */
  async sendCountingTx({ key, payload, iface }) {
    const tx = () => Number(readFileSync(`/sys/class/net/${iface}/statistics/tx_packets`, 'utf8'));
    const before = tx();
    const sending = objects.get(key).send(Buffer.from(payload, 'hex'));
    const whenCalled = tx();
    await sending;
    return { before, whenCalled, settled: tx() };
  },
  /** Keeps the event loop busy for `ms` (a GC pause, a slow callback): packets arriving meanwhile wait. */
  async blockLoop({ ms }) {
    const start = performance.now();
    while (performance.now() - start < ms);
    return { start, end: performance.now() };
  },
  async pollError({ key }) {
    objects.get(key).simulatePollError();
  },
  /**
   * Says 'blocking', then keeps the loop busy until a packet is queued on one of this process's IPv4 raw
   * sockets of `protocol` (read from /proc/net/raw, so without running the loop), and for holdMs more; gives
   * up after maxMs. queuedBy: when the loop saw the packet queued (it arrived before that), undefined if none.
   */
  async blockLoopUntilQueued({ key, protocol, holdMs, maxMs }) {
    const inodes = ownSocketInodes();
    const before = rawQueues(inodes, protocol);
    out({ event: 'blocking', key });
    const start = performance.now();
    let queuedBy;
    for (;;) {
      const now = performance.now();
      if (queuedBy === undefined) {
        for (const [inode, bytes] of rawQueues(inodes, protocol)) if (bytes > (before.get(inode) ?? 0)) queuedBy = now;
      }
      if (queuedBy !== undefined ? now - queuedBy >= holdMs : now - start >= maxMs) break;
    }
    return { start, queuedBy, end: performance.now() };
  },
  /** Says 'blocking' (stdout is synchronous on a pipe), then keeps the loop busy: the test acts meanwhile. */
  async blockLoopSignalled({ key, ms }) {
    out({ event: 'blocking', key });
    const start = performance.now();
    while (performance.now() - start < ms);
    return null;
  },
  /** Whether the loaded addon has this function (an addon built before it lacks it). */
  async addonHas({ name }) {
    const native = await import(pathToFileURL(join(process.argv[2], 'net', 'native.js')).href);
    return typeof native.loadNative().addon?.[name] === 'function';
  },
  async openAddresses({ key, opts }) {
    const m = await net.openAddressManager({ ...opts, warn: (message) => out({ event: 'warning', key, message }) });
    m.onAddressRemoved((family, address, ifindex) => out({ event: 'removed', key, family, address, ifindex }));
    objects.set(key, m);
  },
  async addAddress({ key, vip }) {
    await objects.get(key).add(vip);
  },
  async removeAddress({ key, vip }) {
    await objects.get(key).remove(vip);
  },
  /** The event socket fails (as on a poll error), then `command` runs before the loop turns again. */
  async failAddressEvents({ key, command }) {
    objects.get(key).simulateEventSocketError();
    if (command) execFileSync(command[0], command.slice(1), { stdio: 'ignore' });
  },
  async hasAddress({ key, vip }) {
    return objects.get(key).has(vip);
  },
  async openLinks({ key }) {
    const w = await net.openLinkWatcher();
    w.onChange((link) => out({ event: 'link', key, link }));
    objects.set(key, w);
  },
  async getLink({ key, name }) {
    return objects.get(key).get(name) ?? null;
  },
  async openAnnouncer({ key }) {
    const a = await net.openAnnouncer({ warn: (message) => out({ event: 'warning', key, message }) });
    objects.set(key, a);
  },
  async announce({ key, iface, vip }) {
    await objects.get(key).announce(iface, vip);
  },
  async unixDatagram({ path, data }) {
    return net.sendUnixDatagram(path, Buffer.from(data, 'utf8'));
  },
  async close({ key }) {
    objects.get(key)?.close();
    objects.delete(key);
  },
  async exit() {
    for (const o of objects.values()) o.close();
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
