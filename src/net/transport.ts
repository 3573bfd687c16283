// VRRP transport over raw-socket (IP protocol 112), one socket per (interface, family, group-or-peers).
//
// IPv4: IP_HDRINCL, building the header ourselves like keepalived (vrrp.c vrrp_build_ip4), because raw-socket
// has no bind(): it is the only way to send from mcast_src_ip / unicast_src_ip. TOS 0xc0 and TTL 255
// (unicast_ttl for unicast) go in that header. Receive gets the IP header too, so TTL, source and destination
// are reported.
//
// Receive, both families, goes through the addon's recvmsg socket (native/lvskeeper_net.c) when it is
// there: it also reports the kernel's receive timestamp, so a packet's `receivedAt` (from which the
// Master_Down_Timer runs) is when it arrived, not when Node's event loop got to raw-socket's callback, which
// was 0.3-1 ms later on a busy host (bench:failover, against tshark's timestamps). raw-socket's own receive
// is then paused; without the addon it receives, with the callback's clock.
//
// IPv6: sends go through raw-socket and the kernel builds the header. IPV6_CHECKSUM = 6 makes it fill the VRRP
// checksum on send (with the real source and destination) and drop bad ones on receive, as keepalived
// (vrrp_if.c if_setsockopt_ipv6_checksum). raw-socket has no recvmsg, so IPv6 *receive* uses the addon's
// recvmsg socket (openRaw6Receiver), which also reports hop limit, destination and ifindex
// (keepalived and FRR read the same cmsgs to enforce HL 255, RFC 5798 §7.1). raw-socket cannot tell the
// hop limit (recvfrom gets no IPv6 header or cmsgs; IPV6_MINHOPCOUNT is TCP-only; a BPF filter needs a
// pointer in its setsockopt argument), so without the addon's receiver an IPv6 multicast transport is
// refused (assertIpv6HopLimitCheckable): an off-link sender could otherwise take over. IPv6 unicast does not
// need it (keepalived checks the hop limit only for multicast) and falls back to raw-socket, ttl and
// destination undefined.
// Without a configured sourceAddress the kernel chooses the IPv6 source (link-local for ff02::12, RFC 5798
// §5.1.2.1). With one, the socket uses IPV6_HDRINCL and we build the header and checksum ourselves: Linux
// ignores a sticky IPV6_PKTINFO source on raw sockets (tested), and raw-socket has neither bind() nor cmsgs.
//
// raw-socket closes its socket on any poll error: we report it through onError and reopen it.
//
// `ipsecAh` (VRRPv2 auth_type AH, IPv4): the sockets are for protocol 51 instead of 112; each advert is sent
// as keepalived builds it (vrrp.c vrrp_build_ipsecah/vrrp_update_pkt: AH header, our own non-zero IP ID,
// HMAC-MD5-96 ICV) and each received one is checked (ICV, SPI) before the VRRP message is delivered with
// its `ah` result (src/vrrp/ipsec-ah.ts).

import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import { isIPv4, isIPv6 } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  buildIpv4Header,
  canonicalAddress,
  deviceName,
  ipMreqn,
  ipv6Mreq,
  buildIpv6Header,
  bytesToIpv4,
  bytesToIpv6,
  isIpv6LinkLocal,
  isMulticast,
  parseIpv4Packet,
  IPPROTO_VRRP,
  stripScope,
  VRRP_TOS,
  VRRP_TTL,
  withVrrp3Ipv4Checksum,
  withVrrpIpv6Checksum,
} from './packet-codec.js';
import { getLink, sharedPrimaryIpv4Cache } from './interfaces.js';
import { loadNative, type NativeNet, type RawReceiveCallback, type RawReceiverHandle } from './native.js';
import type { ReceivedPacket, SendOptions, TransportOptions, VrrpTransport } from './types.js';
import { buildAhPacket, IPPROTO_AH, verifyAhPacket } from '../vrrp/ipsec-ah.js';

const require = createRequire(import.meta.url);

export interface RawSocket extends EventEmitter {
  /** raw-socket internals for an immediate sendto() (see sendOne); absent in a fake or another version. */
  wrap?: { send(buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void): void };
  /** raw-socket's queue of sends waiting for the socket to be writable. */
  requests?: unknown[];
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  /** Stop reading (the addon's receiver reads instead). */
  pauseRecv?(): void;
  send(
    buffer: Buffer,
    offset: number,
    length: number,
    address: string,
    callback: (error: Error | null, bytes: number) => void,
  ): void;
  close(): void;
}

interface RawSocketModule {
  createSocket(options: { protocol: number; addressFamily: number; bufferSize?: number }): RawSocket;
  AddressFamily: { IPv4: number; IPv6: number };
}

let rawModule: RawSocketModule | undefined;
export function rawSocket(): RawSocketModule {
  rawModule ??= require('raw-socket') as RawSocketModule;
  return rawModule;
}

// Linux socket option numbers (include/uapi/linux/in.h, in6.h, asm-generic/socket.h).
export const SOL_SOCKET = 1;
export const SO_BINDTODEVICE = 25;
export const SOL_IP = 0;
export const IP_TOS = 1;
export const IP_HDRINCL = 3;
export const IP_MULTICAST_IF = 32;
export const IP_MULTICAST_TTL = 33;
export const IP_MULTICAST_LOOP = 34;
export const IP_ADD_MEMBERSHIP = 35;
export const IP_MULTICAST_ALL = 49;
export const SOL_IPV6 = 41;
export const IPV6_CHECKSUM = 7;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_MULTICAST_IF = 17;
export const IPV6_MULTICAST_HOPS = 18;
export const IPV6_MULTICAST_LOOP = 19;
export const IPV6_JOIN_GROUP = 20;
export const IPV6_MULTICAST_ALL = 29;
export const IPV6_HDRINCL = 36;
export const IPV6_TCLASS = 67;

export const VRRP_GROUP_V4 = '224.0.0.18';
export const VRRP_GROUP_V6 = 'ff02::12';

/** Largest VRRP message: 255 IPv6 addresses (4088 bytes) plus headers. */
const RECV_BUFFER = 8192;
/** A kernel timestamp older than this is a wall-clock step, not a queueing delay: use the callback's clock. */
const MAX_PLAUSIBLE_AGE_MS = 1000;

/** Kept for compatibility: the option now lives in TransportOptions. */
export type VrrpTransportExtraOptions = Pick<TransportOptions, 'v3ChecksumAsV2'>;

function ifaceLabel(o: TransportOptions): string {
  return `${o.interface} (${o.family === 'inet' ? 'IPv4' : 'IPv6'})`;
}

/** Whether received adverts must carry a known hop limit: IPv6 multicast (keepalived skips the check for unicast). */
function needsHopLimit(o: Pick<TransportOptions, 'family' | 'unicastPeers'>): boolean {
  return o.family === 'inet6' && (o.unicastPeers ?? []).length === 0;
}

function hopLimitRefusal(o: TransportOptions, why: string): Error {
  return new Error(
    `VRRP transport on ${ifaceLabel(o)}: the hop limit of received adverts cannot be checked (RFC 5798 §7.1: must be 255) without the native addon's receive socket (${why}) - refusing IPv6 multicast VRRP`,
  );
}

/**
 * Throws for an IPv6 multicast transport when the addon is missing or failed to load (or
 * LVSKEEPER_NO_ADDON=1): its hop limit could not be checked. openVrrpTransport's first step.
 */
export function assertIpv6HopLimitCheckable(o: TransportOptions, native = loadNative()): void {
  if (needsHopLimit(o) && native.addon === undefined) throw hopLimitRefusal(o, native.error?.message ?? 'native addon not loaded');
}

class RawVrrpTransport implements VrrpTransport {
  private sock: RawSocket | undefined;
  /** The addon's receive socket (kernel arrival times; IPv6 hop limit and destination); undefined = receive on `sock`. */
  private receiver: { native: NativeNet; handle: RawReceiverHandle } | undefined;
  private closed = false;
  private reopenTimer: NodeJS.Timeout | undefined;
  private reopenDelayMs = 100;
  private readonly packetHandlers: ((p: ReceivedPacket) => void)[] = [];
  private readonly errorHandlers: ((e: Error) => void)[] = [];
  private readonly group: string;
  private readonly peers: string[];
  /** IP protocol of the sockets: 51 (AH) with `ipsecAh`, else 112. */
  private readonly protocol: number;
  /** IPv4 ID of AH packets (covered by the ICV, so not left to the kernel); never 0, as keepalived. */
  private ipId = 0;

  constructor(
    private readonly opts: TransportOptions & VrrpTransportExtraOptions,
    private ifindex: number,
  ) {
    const v4 = opts.family === 'inet';
    this.group = opts.multicastGroup ?? (v4 ? VRRP_GROUP_V4 : VRRP_GROUP_V6);
    this.peers = (opts.unicastPeers ?? []).map((p) => stripScope(p));
    if (opts.ipsecAh !== undefined && !v4) throw new Error(`VRRP transport on ${ifaceLabel(opts)}: AH authentication is IPv4 only`);
    this.protocol = opts.ipsecAh !== undefined ? IPPROTO_AH : IPPROTO_VRRP;
    const check = v4 ? isIPv4 : isIPv6;
    for (const a of [this.group, ...this.peers, ...(opts.sourceAddress ? [stripScope(opts.sourceAddress)] : [])]) {
      if (!check(stripScope(a))) throw new Error(`VRRP transport on ${ifaceLabel(opts)}: ${a} is not an ${v4 ? 'IPv4' : 'IPv6'} address`);
    }
  }

  /** Creates and configures the socket; throws an Error naming the interface. */
  open(): void {
    const raw = rawSocket();
    const v4 = this.opts.family === 'inet';
    let sock: RawSocket;
    try {
      sock = raw.createSocket({
        protocol: this.protocol,
        addressFamily: v4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
        bufferSize: RECV_BUFFER,
      });
    } catch (e) {
      throw new Error(`VRRP socket on ${ifaceLabel(this.opts)}: ${(e as Error).message}`);
    }
    const set = (what: string, level: number, opt: number, value: number | Buffer, optional = false): void => {
      try {
        if (typeof value === 'number') sock.setOption(level, opt, value);
        else sock.setOption(level, opt, value, value.length);
      } catch (e) {
        if (optional) return;
        sock.close();
        throw new Error(`VRRP socket on ${ifaceLabel(this.opts)}: ${what}: ${(e as Error).message}`);
      }
    };
    set('SO_BINDTODEVICE', SOL_SOCKET, SO_BINDTODEVICE, deviceName(this.opts.interface));
    const unicast = this.peers.length > 0;
    if (v4) {
      set('IP_HDRINCL', SOL_IP, IP_HDRINCL, 1);
      // Only groups this socket joined, not every group joined on the host (keepalived sets it too).
      set('IP_MULTICAST_ALL', SOL_IP, IP_MULTICAST_ALL, 0, true);
      set('IP_MULTICAST_LOOP', SOL_IP, IP_MULTICAST_LOOP, 0);
      set('IP_MULTICAST_TTL', SOL_IP, IP_MULTICAST_TTL, VRRP_TTL);
      set('IP_TOS', SOL_IP, IP_TOS, VRRP_TOS);
      set('IP_MULTICAST_IF', SOL_IP, IP_MULTICAST_IF, ipMreqn('0.0.0.0', '0.0.0.0', this.ifindex));
      this.closeReceiver();
      this.receiver = this.openReceiver(() => sock.close());
      if (!unicast && this.receiver === undefined) {
        set(`IP_ADD_MEMBERSHIP ${this.group}`, SOL_IP, IP_ADD_MEMBERSHIP, ipMreqn(this.group, '0.0.0.0', this.ifindex));
      }
    } else {
      set('IPV6_CHECKSUM', SOL_IPV6, IPV6_CHECKSUM, 6);
      set('IPV6_MULTICAST_ALL', SOL_IPV6, IPV6_MULTICAST_ALL, 0, true);
      set('IPV6_MULTICAST_LOOP', SOL_IPV6, IPV6_MULTICAST_LOOP, 0);
      set('IPV6_MULTICAST_HOPS', SOL_IPV6, IPV6_MULTICAST_HOPS, VRRP_TTL);
      set('IPV6_UNICAST_HOPS', SOL_IPV6, IPV6_UNICAST_HOPS, this.opts.unicastTtl ?? VRRP_TTL);
      set('IPV6_TCLASS', SOL_IPV6, IPV6_TCLASS, VRRP_TOS, true);
      set('IPV6_MULTICAST_IF', SOL_IPV6, IPV6_MULTICAST_IF, this.ifindex);
      if (this.opts.sourceAddress !== undefined) set('IPV6_HDRINCL', SOL_IPV6, IPV6_HDRINCL, 1);
      this.closeReceiver();
      this.receiver = this.openReceiver(() => sock.close());
      if (!unicast && this.receiver === undefined) {
        // Not reached in practice (openReceiver throws for it); never receive multicast unchecked.
        sock.close();
        throw hopLimitRefusal(this.opts, 'no receive socket');
      }
    }
    sock.on('message', (buf: Buffer, source: string) => {
      const receivedAt = performance.now();
      if (this.receiver === undefined) this.receive(buf, source, receivedAt);
    });
    if (this.receiver !== undefined) sock.pauseRecv?.(); // its queue fills and drops: the receiver reads
    sock.on('error', (err: unknown) => {
      const why = err instanceof Error ? err.message : String(err ?? 'poll error');
      this.report(new Error(`VRRP socket on ${ifaceLabel(this.opts)}: ${why}`));
    });
    sock.on('close', () => {
      if (this.sock === sock) this.sock = undefined;
      if (!this.closed) this.scheduleReopen();
    });
    this.sock = sock;
  }

  /**
   * The addon's recvmsg socket, configured like the send socket for receiving; undefined without the
   * addon, where raw-socket may receive instead. Throws (after onFailure) for IPv6 multicast, which must not.
   */
  private openReceiver(onFailure: () => void): { native: NativeNet; handle: RawReceiverHandle } | undefined {
    const loaded = loadNative();
    try {
      assertIpv6HopLimitCheckable(this.opts, loaded);
    } catch (e) {
      onFailure();
      throw e;
    }
    const native = loaded.addon;
    if (native === undefined) return undefined;
    const v4 = this.opts.family === 'inet';
    let handle: RawReceiverHandle;
    try {
      const onPacket: RawReceiveCallback = (error, payload, source, destination, hopLimit, ifindex, ageMs) => {
        const now = performance.now();
        // the kernel's arrival time, when it gave one that makes sense (a stepped wall clock does not)
        const receivedAt = ageMs !== undefined && ageMs >= 0 && ageMs < MAX_PLAUSIBLE_AGE_MS ? now - ageMs : now;
        if (error !== null) {
          this.report(new Error(`VRRP receive socket on ${ifaceLabel(this.opts)}: ${error}`));
          return;
        }
        if (payload === undefined || source === undefined) return;
        if (v4) {
          this.receive(payload, bytesToIpv4(source), receivedAt);
          return;
        }
        this.deliver({
          payload,
          source: bytesToIpv6(source),
          destination: destination === undefined ? undefined : bytesToIpv6(destination),
          ttl: hopLimit !== undefined && hopLimit >= 0 ? hopLimit : undefined,
          ifindex: ifindex || this.ifindex,
          receivedAt,
        });
      };
      handle = v4 ? native.openRaw4Receiver(this.protocol, onPacket) : native.openRaw6Receiver(IPPROTO_VRRP, onPacket);
    } catch (e) {
      if (needsHopLimit(this.opts)) {
        onFailure();
        throw hopLimitRefusal(this.opts, (e as Error).message);
      }
      const fallback = v4 ? 'arrival times from the event loop' : 'hop limit unknown (unicast: not checked)';
      this.report(new Error(`VRRP receive socket on ${ifaceLabel(this.opts)}: ${(e as Error).message}; ${fallback}`));
      return undefined;
    }
    const set = (what: string, level: number, opt: number, value: number | Buffer, optional = false): void => {
      try {
        native.rawSocketOption(handle, level, opt, value);
      } catch (e) {
        if (optional) return;
        native.closeReceiver(handle);
        onFailure();
        throw new Error(`VRRP receive socket on ${ifaceLabel(this.opts)}: ${what}: ${(e as Error).message}`);
      }
    };
    set('SO_BINDTODEVICE', SOL_SOCKET, SO_BINDTODEVICE, deviceName(this.opts.interface));
    if (v4) {
      // Only groups this socket joined, not every group joined on the host (keepalived sets it too).
      set('IP_MULTICAST_ALL', SOL_IP, IP_MULTICAST_ALL, 0, true);
      if (this.peers.length === 0) set(`IP_ADD_MEMBERSHIP ${this.group}`, SOL_IP, IP_ADD_MEMBERSHIP, ipMreqn(this.group, '0.0.0.0', this.ifindex));
      return { native, handle };
    }
    set('IPV6_CHECKSUM', SOL_IPV6, IPV6_CHECKSUM, 6);
    set('IPV6_MULTICAST_ALL', SOL_IPV6, IPV6_MULTICAST_ALL, 0, true);
    if (this.peers.length === 0) {
      set(`IPV6_JOIN_GROUP ${this.group}`, SOL_IPV6, IPV6_JOIN_GROUP, ipv6Mreq(this.group, this.ifindex));
    }
    return { native, handle };
  }

  private closeReceiver(): void {
    const r = this.receiver;
    this.receiver = undefined;
    r?.native.closeReceiver(r.handle);
  }

  private scheduleReopen(): void {
    if (this.reopenTimer !== undefined || this.closed) return;
    const delay = this.reopenDelayMs;
    this.reopenDelayMs = Math.min(this.reopenDelayMs * 2, 5000);
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      if (this.closed) return;
      void (async () => {
        try {
          // The interface may have been recreated with a new index.
          this.ifindex = (await getLink(this.opts.interface)).index;
          this.open();
          this.reopenDelayMs = 100;
          this.report(new Error(`VRRP socket on ${ifaceLabel(this.opts)} was reopened after an error`));
        } catch (e) {
          this.report(e as Error);
          this.scheduleReopen();
        }
      })();
    }, delay);
  }

  private report(e: Error): void {
    for (const h of this.errorHandlers) {
      try {
        h(e);
      } catch {
        // ignore handler failures
      }
    }
  }

  private receive(buf: Buffer, source: string, receivedAt: number): void {
    let packet: ReceivedPacket;
    if (this.opts.ipsecAh !== undefined) {
      // keepalived drops what is not AH-protected VRRP without a word (vrrp_check_packet VRRP_PACKET_DROP).
      const r = verifyAhPacket(buf, this.opts.ipsecAh.password, this.peers.length > 0);
      if (!r.ok) return;
      packet = { payload: r.vrrp, source: r.source, destination: r.destination, ttl: r.ttl, ifindex: this.ifindex, receivedAt, ah: r.ah };
    } else if (this.opts.family === 'inet') {
      const ip = parseIpv4Packet(buf);
      if (ip === undefined || ip.protocol !== IPPROTO_VRRP) return; // the kernel validated it; never trust
      packet = { payload: ip.payload, source: ip.source, destination: ip.destination, ttl: ip.ttl, ifindex: this.ifindex, receivedAt };
    } else {
      let from: string;
      try {
        from = canonicalAddress(source);
      } catch {
        return; // never let odd input throw inside raw-socket's receive callback
      }
      // raw-socket reuses its receive buffer: copy before handing it out.
      packet = { payload: Buffer.from(buf), source: from, ifindex: this.ifindex, receivedAt };
    }
    this.deliver(packet);
  }

  private deliver(packet: ReceivedPacket): void {
    for (const h of this.packetHandlers) {
      try {
        h(packet);
      } catch {
        // the engine's problem, not the socket's
      }
    }
  }

  /** The IPv4 source: configured, or the interface's primary address (kept from rtnetlink notifications). */
  private ipv4Source(): string | Promise<string> {
    if (this.opts.sourceAddress !== undefined) return stripScope(this.opts.sourceAddress);
    const noAddress = (): never => {
      throw new Error(`VRRP send on ${ifaceLabel(this.opts)}: interface has no IPv4 address`);
    };
    const found = sharedPrimaryIpv4Cache().get(this.ifindex);
    if (typeof found === 'string') return found;
    if (found === undefined) return noAddress();
    return found.then((address) => address ?? noAddress());
  }

  /**
   * sendto() right now, as keepalived does (vrrp_send_pkt): raw-socket's public send() only queues the packet
   * and sends it when the next poll phase reports the socket writable, which delayed a new master's first
   * advert by 0.1-0.6 ms (bench:failover, traced). Its native SocketWrap.send() is that sendto(), synchronous.
   * The queue stays the fallback when the wrap is missing (another raw-socket version), when packets are
   * already queued (keeps their order) or when the socket buffer is full (EAGAIN).
   */
  private sendOne(sock: RawSocket, packet: Buffer, dest: string): Promise<void> {
    const fail = (e: unknown): Error => new Error(`VRRP send to ${dest} on ${ifaceLabel(this.opts)}: ${e instanceof Error ? e.message : String(e)}`);
    const wrap = sock.wrap;
    if (typeof wrap?.send === 'function' && (sock.requests?.length ?? 0) === 0) {
      try {
        wrap.send(packet, 0, packet.length, dest, () => undefined);
        return Promise.resolve();
      } catch (e) {
        if (!/temporarily unavailable/i.test((e as Error).message)) return Promise.reject(fail(e));
      }
    }
    return new Promise((resolve, reject) => {
      try {
        sock.send(packet, 0, packet.length, dest, (err) => (err ? reject(fail(err)) : resolve()));
      } catch (e) {
        reject(fail(e));
      }
    });
  }

  /** Builds and sends one packet per destination. No await before the first sendto() unless the source needs a look-up. */
  async send(payload: Buffer, options?: SendOptions): Promise<void> {
    if (this.closed) throw new Error(`VRRP transport on ${ifaceLabel(this.opts)} is closed`);
    const sock = this.sock;
    if (sock === undefined) throw new Error(`VRRP socket on ${ifaceLabel(this.opts)} is being reopened`);
    const unicast = this.peers.length > 0;
    const dests = unicast ? this.peers : [this.group];
    const sends: Promise<void>[] = [];
    if (this.opts.family === 'inet') {
      const found = this.ipv4Source();
      const source = typeof found === 'string' ? found : await found;
      const ttl = unicast ? (this.opts.unicastTtl ?? VRRP_TTL) : VRRP_TTL;
      const ah = this.opts.ipsecAh;
      if (ah !== undefined) {
        const sequence = options?.ahSequence;
        if (sequence === undefined) throw new Error(`VRRP send on ${ifaceLabel(this.opts)}: AH needs a sequence number`);
        // one ID and sequence number per advert, the ICV per destination (keepalived vrrp_update_pkt)
        this.ipId = (this.ipId % 0xffff) + 1;
        for (const dest of dests) {
          const packet = buildAhPacket({ source, destination: dest, ttl, id: this.ipId, sequence, vrrp: payload, password: ah.password, unicast });
          sends.push(this.sendOne(sock, packet, dest));
        }
      }
      for (const dest of ah === undefined ? dests : []) {
        const body = this.opts.v3ChecksumAsV2 ? payload : withVrrp3Ipv4Checksum(payload, source, options?.v3ChecksumDestination ?? dest);
        const header = buildIpv4Header({ source, destination: dest, ttl, payloadLength: body.length });
        sends.push(this.sendOne(sock, Buffer.concat([header, body]), dest));
      }
    } else {
      const source = this.opts.sourceAddress === undefined ? undefined : stripScope(this.opts.sourceAddress);
      const hopLimit = unicast ? (this.opts.unicastTtl ?? VRRP_TTL) : VRRP_TTL;
      for (const dest of dests) {
        const target = isIpv6LinkLocal(dest) || isMulticast(dest) ? `${dest}%${this.opts.interface}` : dest;
        let packet = payload;
        if (source !== undefined) {
          const body = withVrrpIpv6Checksum(payload, source, dest);
          packet = Buffer.concat([buildIpv6Header({ source, destination: dest, hopLimit, payloadLength: body.length }), body]);
        }
        sends.push(this.sendOne(sock, packet, target));
      }
    }
    const failures = (await Promise.allSettled(sends)).flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    if (failures.length > 0) throw new Error(failures.join('; '));
  }

  onPacket(handler: (packet: ReceivedPacket) => void): void {
    this.packetHandlers.push(handler);
  }

  onError(handler: (error: Error) => void): void {
    this.errorHandlers.push(handler);
  }

  close(): void {
    this.closed = true;
    if (this.reopenTimer !== undefined) clearTimeout(this.reopenTimer);
    this.closeReceiver();
    const s = this.sock;
    this.sock = undefined;
    try {
      s?.close();
    } catch {
      // already closed
    }
  }

  /** Test hook: what raw-socket does on a poll error (emit error, close). */
  simulatePollError(): void {
    const s = this.sock;
    if (s === undefined) return;
    s.emit('error', undefined);
    s.close();
  }
}

export async function openVrrpTransport(
  opts: TransportOptions & VrrpTransportExtraOptions,
): Promise<VrrpTransport> {
  // Before any socket or netlink work, so the refusal is the one message the instance gets.
  assertIpv6HopLimitCheckable(opts);
  // only the index: the IPv4 source comes from PrimaryIpv4Cache, primed below (no address dumps twice)
  const info = await getLink(opts.interface).catch((e: Error) => {
    throw new Error(`VRRP transport on ${ifaceLabel(opts)}: ${e.message}`);
  });
  const t = new RawVrrpTransport(opts, info.index);
  t.open();
  // A router that starts as BACKUP sends nothing until it takes over: have the source ready by then.
  if (opts.family === 'inet' && opts.sourceAddress === undefined) {
    void Promise.resolve(sharedPrimaryIpv4Cache().get(info.index)).catch(() => undefined);
  }
  return t;
}
