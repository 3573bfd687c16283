// Loads the in-repo addon (native/lvskeeper_net.c, built by npm from the root binding.gyp). Callers fall
// back to external tools when it is missing, except IPv6 multicast VRRP, which needs its receive socket to
// check the hop limit and is refused without it (transport.ts). LVSKEEPER_NO_ADDON=1 forces the fallback
// (used by tests).

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeNet {
  /** Sends one complete Ethernet frame on the interface (AF_PACKET). */
  sendFrame(ifindex: number, frame: Buffer): void;
  /** Sends one AF_UNIX datagram; a path starting with '@' is abstract (systemd NOTIFY_SOCKET). */
  sendUnixDatagram(path: string, data: Buffer): void;
  /**
   * Opens an AF_INET6 raw socket read with recvmsg (IPV6_RECVHOPLIMIT + IPV6_RECVPKTINFO + SO_TIMESTAMPNS).
   * The callback gets either an error string, or the payload, 16-byte source, 16-byte destination (if
   * known), hop limit (-1 if unknown), receiving ifindex, and how long ago the kernel received the packet
   * (ms; -1 if unknown).
   */
  openRaw6Receiver(protocol: number, callback: RawReceiveCallback): RawReceiverHandle;
  /** The same for AF_INET: the payload starts with the IPv4 header, the source is 4 bytes, destination,
   * hop limit and ifindex are unknown (read them from the header). */
  openRaw4Receiver(protocol: number, callback: RawReceiveCallback): RawReceiverHandle;
  rawSocketOption(handle: RawReceiverHandle, level: number, name: number, value: number | Buffer): void;
  /** Idempotent; drop the handle afterwards. */
  closeReceiver(handle: RawReceiverHandle): void;
  /**
   * A netlink socket joined to `groups` (receiveBufferBytes 0: the kernel default; ref false: it does not
   * keep the loop alive). The callback gets one datagram, or an error "CODE: message"; after "ENOBUFS: …"
   * (notifications were dropped) the socket goes on reading. Missing from addons built before it existed.
   */
  openNetlinkReceiver?(
    protocol: number,
    groups: number[],
    receiveBufferBytes: number,
    ref: boolean,
    callback: (error: string | null, datagram?: Buffer) => void,
  ): RawReceiverHandle;
  /**
   * An unconnected TCP (datagram false) or UDP socket with SO_MARK = mark, bound when bindAddress is not null
   * or bindPort is not 0; returns its fd for net.Socket({ fd }) / dgram bind({ fd }). Errors carry `code`
   * (errno name) and `syscall` ('setsockopt(SO_MARK)', 'bind', ...).
   */
  openMarkedSocket(ipv6: boolean, datagram: boolean, mark: number, bindAddress: string | null, bindPort: number): number;
  /** setns(CLONE_NEWNET) of the calling thread into the namespace file at path (e.g. /run/netns/NAME). */
  enterNetworkNamespace(path: string): void;
}

export type RawReceiveCallback = (
  error: string | null,
  payload?: Buffer,
  source?: Buffer,
  destination?: Buffer,
  hopLimit?: number,
  ifindex?: number,
  ageMs?: number,
) => void;

declare const rawReceiverBrand: unique symbol;
export type RawReceiverHandle = { readonly [rawReceiverBrand]: true };

const ADDON = join('build', 'Release', 'lvskeeper_net.node');

let cached: { addon?: NativeNet; error?: Error } | undefined;

/** Walks up from this module (src/net or dist/net, or a test build) to the package root holding build/. */
function findAddon(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export function loadNative(): { addon?: NativeNet; error?: Error } {
  if (cached !== undefined) return cached;
  if (process.env['LVSKEEPER_NO_ADDON'] === '1') {
    cached = { error: new Error('native addon disabled by LVSKEEPER_NO_ADDON=1') };
    return cached;
  }
  const path = findAddon();
  if (path === undefined) {
    cached = { error: new Error(`native addon ${ADDON} not found (npm install builds it with node-gyp)`) };
    return cached;
  }
  try {
    cached = { addon: createRequire(import.meta.url)(path) as NativeNet };
  } catch (e) {
    cached = { error: new Error(`native addon ${path} failed to load: ${(e as Error).message}`) };
  }
  return cached;
}
