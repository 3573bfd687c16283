// Binding a new master's synced connections to its real servers (issue #17), before its sync daemon
// turns from backup to master.
//
// The kernel binds a synced connection only while a sync message for it is processed and its virtual
// server exists (ip_vs_sync.c ip_vs_proc_conn). Here the virtual servers appear at the takeover, after the
// messages: the entries stay unbound (they flow, but the real servers' counters miss them and an unbound
// persistence template is dropped at its next use). So, once the virtual servers are in and while the
// backup sync daemon still runs, the entries it created are sent back to it as the old master would
// have sent them (src/ipvs/sync-message.ts); the kernel binds each one it can.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { endianness, networkInterfaces } from 'node:os';
import { parseIPv4, parseIPv6 } from '../ipvs/address.js';
import type { IpvsOp } from '../ipvs/ops.js';
import { encodeSyncMessages, parseSyncedEntries, SYNC_PROC_PATH, syncConnectionOf, type SyncConnection } from '../ipvs/sync-message.js';
import type { ForwardMethod, SyncDaemon } from '../ipvs/types.js';

/** The kernel's defaults (ip_vs_sync.c IP_VS_SYNC_GROUP, IP_VS_SYNC_PORT). */
const DEFAULT_GROUP_V4 = '224.0.0.81';
const DEFAULT_PORT = 8848;
/** Datagrams sent before waiting for the daemon to read them: 32 fit a default receive buffer (rmem_default). */
const MESSAGES_PER_ROUND = 32;

export interface SyncBindingIo {
  /** /proc/net/ip_vs_conn_sync. */
  readSynced(): Promise<string>;
  /** The interface's MTU, or undefined when unknown. */
  mtu(ifname: string): number | undefined;
  /** Sends the datagrams to the sync group on `ifname`, looped back to this node's own backup daemon. */
  send(datagrams: readonly Buffer[], target: SyncTarget): Promise<void>;
  /** The backup daemon's socket (bound to the group and port): bytes waiting in it, datagrams it dropped. */
  receiveQueue(target: SyncTarget): Promise<{ queued: number; drops: number } | undefined>;
  /** Waits a little before the queue is read again. */
  pause(): Promise<void>;
  now(): number;
}

export interface SyncTarget {
  ifname: string;
  group: string;
  port: number;
}

export type BindingOutcome =
  | { kind: 'none' }
  | { kind: 'done'; sent: number; ms: number; dropped: number; unsent: number; unpaced: boolean }
  | { kind: 'failed'; why: string };

/**
 * Re-announces the backup's synced entries whose real server is one of `ops`' destinations (the virtual
 * servers just installed) to its own backup sync daemon, in rounds: each waits, `waitMs` in all at most,
 * until the daemon has read the last one, so a large table never overflows its receive buffer. Stopping
 * the daemon afterwards is safe: its thread empties its queue before it exits (ip_vs_sync.c
 * sync_thread_backup), and a looped-back datagram is queued before send() returns.
 */
export async function bindSyncedConnections(
  ops: readonly IpvsOp[],
  daemon: Omit<SyncDaemon, 'state'>,
  io: SyncBindingIo,
  waitMs: number,
): Promise<BindingOutcome> {
  const started = io.now();
  const forwardByDest = new Map<string, ForwardMethod>();
  for (const op of ops) if (op.op === 'add-dest') forwardByDest.set(destKey(op.dest.address, op.dest.port), op.dest.forward);
  if (forwardByDest.size === 0) return { kind: 'none' };
  let conns: SyncConnection[];
  try {
    conns = parseSyncedEntries(await io.readSynced()).flatMap((e) => {
      const forward = e.origin === 'SYNC' ? forwardByDest.get(destKey(e.destinationAddress, e.destinationPort)) : undefined;
      const c = forward && syncConnectionOf(e, forward);
      return c ? [c] : [];
    });
  } catch (e) {
    return { kind: 'failed', why: `cannot read ${SYNC_PROC_PATH}: ${(e as Error).message}` };
  }
  if (conns.length === 0) return { kind: 'none' };
  // The receiver drops a datagram longer than its sync_maxlen (maxlen, or the MTU less the headers).
  const headers = daemon.mcastGroup?.includes(':') ? 48 : 28;
  const maxBytes = Math.min(daemon.maxLen ?? Infinity, (io.mtu(daemon.mcastInterface) ?? 1500) - headers);
  const target = { ifname: daemon.mcastInterface, group: daemon.mcastGroup ?? DEFAULT_GROUP_V4, port: daemon.mcastPort ?? DEFAULT_PORT };
  try {
    const messages = encodeSyncMessages(conns, daemon.syncId, maxBytes);
    const first = await io.receiveQueue(target);
    let sent = 0;
    for (let i = 0; i < messages.length && io.now() - started < waitMs; i += MESSAGES_PER_ROUND) {
      const round = messages.slice(i, i + MESSAGES_PER_ROUND);
      await io.send(round, target);
      sent += round.reduce((n, m) => n + m[4]!, 0);
      if (!first) await io.pause(); // no queue to watch: a pause is all the pacing there is
      else while ((await io.receiveQueue(target))?.queued && io.now() - started < waitMs) await io.pause();
    }
    const last = first && (await io.receiveQueue(target));
    const dropped = first && last ? last.drops - first.drops : 0;
    return { kind: 'done', sent, ms: io.now() - started, dropped, unsent: conns.length - sent, unpaced: !first };
  } catch (e) {
    return { kind: 'failed', why: (e as Error).message };
  }
}

function destKey(address: string, port: number): string {
  return `${address}|${port}`;
}

/** The real I/O: /proc, /sys and a UDP socket with multicast loopback. */
export function syncBindingIo(): SyncBindingIo {
  return {
    readSynced: () => readFile(SYNC_PROC_PATH, 'latin1'),
    mtu: (ifname) => {
      const mtu = networkInterfaceMtu(ifname);
      return Number.isFinite(mtu) && mtu > 0 ? mtu : undefined;
    },
    send: (datagrams, target) => sendLooped(datagrams, target),
    receiveQueue: async (target) => {
      const v6 = target.group.includes(':');
      return findUdpSocket(await readFile(v6 ? '/proc/net/udp6' : '/proc/net/udp', 'latin1'), procAddress(target.group), target.port);
    },
    pause: () => new Promise((r) => setTimeout(r, 1)),
    now: () => performance.now(),
  };
}

/**
 * The socket bound to `address` (as /proc/net/udp prints it) and `port` in /proc/net/udp or udp6:
 * its rx_queue in bytes and its drop count; undefined when there is none.
 */
export function findUdpSocket(text: string, address: string, port: number): { queued: number; drops: number } | undefined {
  const local = `${address}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n')) {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
    const f = line.trim().split(/\s+/);
    if (f[1] !== local || f.length < 13) continue;
    const queued = parseInt(f[4]!.split(':')[1] ?? '', 16);
    const drops = Number(f[12]);
    if (Number.isFinite(queued) && Number.isFinite(drops)) return { queued, drops };
  }
  return undefined;
}

/** An address as /proc/net/udp prints it: the 32-bit words of the address in host order (x86: little endian). */
export function procAddress(group: string): string {
  const bytes = group.includes(':') ? parseIPv6(group) : parseIPv4(group);
  if (!bytes) throw new Error(`not an address: ${group}`);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const word = Buffer.from(bytes.subarray(i, i + 4)).readUInt32BE(0);
    const host = Buffer.alloc(4);
    if (endianness() === 'LE') host.writeUInt32LE(word);
    else host.writeUInt32BE(word);
    out += host.toString('hex').toUpperCase();
  }
  return out;
}

function networkInterfaceMtu(ifname: string): number {
  try {
    // Read synchronously: a few bytes from sysfs, once per takeover.
    return Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'latin1').trim());
  } catch {
    return NaN;
  }
}

async function sendLooped(datagrams: readonly Buffer[], target: SyncTarget): Promise<void> {
  const v6 = target.group.includes(':');
  const local = networkInterfaces()[target.ifname]?.find((a) => a.family === (v6 ? 'IPv6' : 'IPv4'));
  if (!local) throw new Error(`${target.ifname} has no ${v6 ? 'IPv6' : 'IPv4'} address to send from`);
  const socket = createSocket({ type: v6 ? 'udp6' : 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => resolve());
    });
    socket.setMulticastInterface(v6 ? `::%${target.ifname}` : local.address);
    socket.setMulticastLoopback(true);
    socket.setMulticastTTL(1);
    for (const d of datagrams) {
      await new Promise<void>((resolve, reject) => socket.send(d, target.port, target.group, (e) => (e ? reject(e) : resolve())));
    }
  } finally {
    socket.close();
  }
}
