// Announcer: one gratuitous ARP (IPv4) or unsolicited neighbour advertisement (IPv6) per call; the engine
// owns repeats and delays (garp_master_repeat / garp_master_delay / garp_master_refresh).
//
// IPv4 needs AF_PACKET, which only our addon provides (native/lvskeeper_net.c). Without it we spawn
// iputils `arping -U -c 1 -I dev VIP` (same frame shape: an ARP request with sender IP = target IP = VIP)
// and warn once. IPv6 is pure JS: a raw ICMPv6 socket, IPV6_MULTICAST_IF + IPV6_MULTICAST_HOPS 255, to
// ff02::1; the kernel fills the checksum and the (link-local) source (peers.md §0 item 2).

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import {
  ALL_NODES_V6,
  buildGratuitousArp,
  buildUnsolicitedNa,
  icmp6FilterBlockAll,
  stripScope,
} from './packet-codec.js';
import { sharedLinkCache } from './interfaces.js';
import { loadNative, type NativeNet } from './native.js';
import { rawSocket, SOL_IPV6, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_LOOP, type RawSocket } from './transport.js';
import type { Announcer, Family } from './types.js';

const IPPROTO_ICMPV6 = 58;
const ICMP6_FILTER = 1;

export interface AnnouncerOptions {
  /** Called once when falling back to arping (the addon is missing or failed to load). */
  warn?: ((message: string) => void) | undefined;
  /** Path of the arping binary for the fallback (default: `arping` on PATH). */
  arping?: string | undefined;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 5000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** keepalived sets the NA Router flag when the interface forwards IPv6 (vrrp_ndisc.c). */
async function forwardsIpv6(iface: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/sys/net/ipv6/conf/${iface}/forwarding`, 'utf8')).trim() === '1';
  } catch {
    return false;
  }
}

class KernelAnnouncer implements Announcer {
  private icmp6: RawSocket | undefined;
  private readonly native: NativeNet | undefined;
  private warned = false;
  private readonly loadError: Error | undefined;

  constructor(private readonly options: AnnouncerOptions) {
    const loaded = loadNative();
    this.native = loaded.addon;
    this.loadError = loaded.error;
  }

  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    (this.options.warn ?? ((m: string) => process.emitWarning(m)))(message);
  }

  async announce(interfaceName: string, vip: { family: Family; address: string }): Promise<void> {
    const address = stripScope(vip.address);
    if (vip.family === 'inet' ? !isIPv4(address) : !isIPv6(address)) {
      throw new Error(`cannot announce ${vip.address} on ${interfaceName}: not an ${vip.family} address`);
    }
    // Index and MAC from the link cache (kept current by link notifications): no round trip on a takeover.
    const info = await sharedLinkCache().get(interfaceName).catch((e: Error) => {
      throw new Error(`cannot announce ${address} on ${interfaceName}: ${e.message}`);
    });
    if (info.mac === undefined) throw new Error(`cannot announce ${address} on ${interfaceName}: interface has no MAC address`);
    if (vip.family === 'inet') {
      if (this.native !== undefined) {
        try {
          this.native.sendFrame(info.index, buildGratuitousArp(info.mac, address));
        } catch (e) {
          sharedLinkCache().invalidate(); // the next announcement asks the kernel afresh
          throw new Error(`gratuitous ARP for ${address} on ${interfaceName}: ${(e as Error).message}`);
        }
        return;
      }
      this.warn(`gratuitous ARP falls back to arping: ${this.loadError?.message ?? 'no native addon'}`);
      await run(this.options.arping ?? 'arping', ['-U', '-c', '1', '-I', interfaceName, address]);
      return;
    }
    const na = buildUnsolicitedNa(address, info.mac, await forwardsIpv6(interfaceName));
    const sock = this.icmpSocket();
    sock.setOption(SOL_IPV6, IPV6_MULTICAST_IF, info.index);
    await new Promise<void>((resolve, reject) => {
      sock.send(na, 0, na.length, ALL_NODES_V6, (err) =>
        err ? reject(new Error(`neighbour advertisement for ${address} on ${interfaceName}: ${err.message}`)) : resolve(),
      );
    });
  }

  private icmpSocket(): RawSocket {
    if (this.icmp6 !== undefined) return this.icmp6;
    const raw = rawSocket();
    const s = raw.createSocket({ protocol: IPPROTO_ICMPV6, addressFamily: raw.AddressFamily.IPv6 });
    // Send-only: block every ICMPv6 type on receive so the socket never queues the host's traffic.
    s.setOption(IPPROTO_ICMPV6, ICMP6_FILTER, icmp6FilterBlockAll(), 32);
    s.setOption(SOL_IPV6, IPV6_MULTICAST_HOPS, 255); // RFC 4861 §7.1.2: hop limit 255 or receivers drop it
    s.setOption(SOL_IPV6, IPV6_MULTICAST_LOOP, 0);
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.icmp6 === s) this.icmp6 = undefined; // recreated on the next announce
    });
    this.icmp6 = s;
    return s;
  }

  close(): void {
    const s = this.icmp6;
    this.icmp6 = undefined;
    try {
      s?.close();
    } catch {
      // already closed
    }
  }
}

export async function openAnnouncer(options: AnnouncerOptions = {}): Promise<Announcer> {
  return new KernelAnnouncer(options);
}

/** systemd sd_notify through the addon (NOTIFY_SOCKET may be abstract, "@..."); false if unavailable. */
export function sendUnixDatagram(path: string, data: Buffer): boolean {
  const { addon } = loadNative();
  if (addon === undefined) return false;
  addon.sendUnixDatagram(path, data);
  return true;
}
