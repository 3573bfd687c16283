// The IPVS connection table as the kernel prints it in /proc/net/ip_vs_conn, parsed the way ipvsadm's
// list_conn()/print_conn() read it: IPv4 addresses as 8 hex digits (host-order value of the network address),
// IPv6 addresses as %pI6 text, ports as 4 hex digits, the expiry in seconds, optional persistence-engine data.
import { readFile } from 'node:fs/promises';
import { formatIPv4, formatIPv6, parseIPv6 } from './address.js';
import type { AddressFamily } from './types.js';

export const CONNECTIONS_PATH = '/proc/net/ip_vs_conn';

export interface Connection {
  /** As printed by the kernel: TCP, UDP, SCTP, AH, ESP, IP… */
  protocol: string;
  family: AddressFamily;
  clientAddress: string;
  clientPort: number;
  virtualAddress: string;
  virtualPort: number;
  /** The destination may have another family than the client side (IPv6 service over an IPv4 tunnel). */
  destinationFamily: AddressFamily;
  destinationAddress: string;
  destinationPort: number;
  state: string;
  /** Seconds until the entry expires. */
  expiresSec: number;
  peName?: string | undefined;
  peData?: string | undefined;
}

function parseAddr(text: string): { family: AddressFamily; address: string } | undefined {
  if (text.includes(':')) {
    const b = parseIPv6(text);
    return b ? { family: 'inet6', address: formatIPv6(b) } : undefined;
  }
  if (!/^[0-9a-fA-F]{1,8}$/.test(text)) return undefined;
  const v = parseInt(text, 16);
  const b = new Uint8Array([(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  return { family: 'inet', address: formatIPv4(b) };
}

function parsePort(text: string): number | undefined {
  return /^[0-9a-fA-F]{1,4}$/.test(text) ? parseInt(text, 16) : undefined;
}

/** Parses one line; undefined for the header and for lines ipvsadm would skip. */
export function parseConnectionLine(line: string): Connection | undefined {
  const f = line.trim().split(/\s+/);
  if (f.length < 9 || f[0] === 'Pro') return undefined;
  const [protocol, caddr, cport, vaddr, vport, daddr, dport, state, expires, peName, peData] = f as [
    string, string, string, string, string, string, string, string, string, string?, string?,
  ];
  const c = parseAddr(caddr);
  const v = parseAddr(vaddr);
  const d = parseAddr(daddr);
  const cp = parsePort(cport);
  const vp = parsePort(vport);
  const dp = parsePort(dport);
  if (!c || !v || !d || cp === undefined || vp === undefined || dp === undefined || !/^\d+$/.test(expires)) return undefined;
  return {
    protocol,
    family: c.family,
    clientAddress: c.address,
    clientPort: cp,
    virtualAddress: v.address,
    virtualPort: vp,
    destinationFamily: d.family,
    destinationAddress: d.address,
    destinationPort: dp,
    state,
    expiresSec: Number(expires),
    peName,
    peData,
  };
}

export function parseConnections(text: string): Connection[] {
  const out: Connection[] = [];
  for (const line of text.split('\n')) {
    const c = parseConnectionLine(line);
    if (c) out.push(c);
  }
  return out;
}

/** Reads the connection table; an absent file (no ip_vs module) reads as no connections. */
export async function readConnections(path = CONNECTIONS_PATH): Promise<Connection[]> {
  try {
    return parseConnections(await readFile(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}
