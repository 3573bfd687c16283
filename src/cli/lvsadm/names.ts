// Name lookups as ipvsadm does them through the C library: getservbyname/getservbyport read
// /etc/services (nsswitch "services: files"); gethostbyname/gethostbyaddr go through NSS, which we reach
// with getent(1) so /etc/hosts, DNS and any other NSS module answer exactly as they do for ipvsadm.
// Only used without -n (listing) or for non-numeric input, so numeric paths never pay for it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { InputResolver } from './options.js';
import type { NameLookup, ProtocolName } from './format.js';
import { inetPton4, inetPton6 } from './cparse.js';
import { formatIPv6 } from '../../ipvs/address.js';

interface ServiceLine {
  names: string[];
  port: number;
  protocol: string;
}

/** /etc/services entries in file order (getservent order). */
export function parseServices(text: string): ServiceLine[] {
  const out: ServiceLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '');
    const f = line.split(/[ \t]+/).filter((x) => x !== '');
    if (f.length < 2) continue;
    const m = /^(\d+)\/(\S+)$/.exec(f[1]!);
    if (!m) continue;
    out.push({ names: [f[0]!, ...f.slice(2)], port: Number(m[1]), protocol: m[2]! });
  }
  return out;
}

export class ServicesDb {
  private byPort = new Map<string, string>();
  private byName = new Map<string, number>();

  constructor(lines: readonly ServiceLine[]) {
    for (const s of lines) {
      const pk = `${s.port}/${s.protocol}`;
      if (!this.byPort.has(pk)) this.byPort.set(pk, s.names[0]!);
      for (const n of s.names) {
        const nk = `${n}/${s.protocol}`;
        if (!this.byName.has(nk)) this.byName.set(nk, s.port);
      }
    }
  }

  static load(path = '/etc/services'): ServicesDb {
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // no services database: every port prints as a number
    }
    return new ServicesDb(parseServices(text));
  }

  portName(port: number, protocol: ProtocolName): string | undefined {
    return this.byPort.get(`${port}/${protocol}`);
  }

  port(name: string, protocol: ProtocolName): number | undefined {
    return this.byName.get(`${name}/${protocol}`);
  }
}

function getent(args: string[]): string {
  try {
    // loaded on first use: node:child_process costs a listing that resolves no names ~50 ms in the VM
    const { execFileSync } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    return execFileSync('getent', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    // getent exits 2 when some keys are not found; what it printed for the others still counts
    const out = (e as { stdout?: unknown }).stdout;
    return typeof out === 'string' ? out : '';
  }
}

/** gethostbyaddr() h_name for many addresses with one getent call per 500 addresses. */
export function reverseLookup(hosts: ReadonlyArray<{ family: 'inet' | 'inet6'; address: string }>): Map<string, string> {
  const names = new Map<string, string>();
  const keys = [...new Set(hosts.map((h) => h.address))];
  for (let i = 0; i < keys.length; i += 500) {
    const out = getent(['hosts', ...keys.slice(i, i + 500)]);
    for (const line of out.split('\n')) {
      const f = line.split(/[ \t]+/).filter((x) => x !== '');
      if (f.length < 2) continue;
      const v4 = inetPton4(f[0]!);
      const v6 = v4 === undefined ? inetPton6(f[0]!) : undefined;
      const address = v4 !== undefined ? f[0]! : v6 ? formatIPv6(v6) : f[0]!;
      if (!names.has(address)) names.set(address, f[1]!);
    }
  }
  return names;
}

/** A NameLookup over pre-resolved host names and the services database. */
export function nameLookup(hosts: Map<string, string>, services: ServicesDb): NameLookup {
  return {
    host: (_family, address) => hosts.get(address),
    service: (port, protocol) => services.portName(port, protocol),
  };
}

/** gethostbyname() (IPv4) and getservbyname() for parse_service(), cached. */
export function systemResolver(): InputResolver {
  let services: ServicesDb | undefined;
  const hostCache = new Map<string, number | undefined>();
  return {
    hostToIPv4(name) {
      if (name === '') return undefined;
      if (hostCache.has(name)) return hostCache.get(name);
      // nsswitch "hosts: files dns": /etc/hosts first, read here because getaddrinfo (getent ahostsv4)
      // applies AI_ADDRCONFIG and finds nothing on a machine without a non-loopback IPv4 address.
      let result = hostsFileIPv4(name);
      if (result === undefined) {
        const first = getent(['ahostsv4', name]).split('\n')[0] ?? '';
        result = inetPton4(first.split(/[ \t]+/)[0] ?? '');
      }
      hostCache.set(name, result);
      return result;
    },
    serviceToPort(name, protocol) {
      services ??= ServicesDb.load();
      return services.port(name, protocol);
    },
  };
}

/** gethostbyname()'s files backend for IPv4: the first /etc/hosts line naming the host (any case). */
export function hostsFileIPv4(name: string, path = '/etc/hosts'): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const wanted = name.toLowerCase();
  for (const raw of text.split('\n')) {
    const f = raw.replace(/#.*/, '').split(/[ \t]+/).filter((x) => x !== '');
    if (f.length < 2) continue;
    const v4 = inetPton4(f[0]!);
    if (v4 === undefined) continue;
    if (f.slice(1).some((n) => n.toLowerCase() === wanted)) return v4;
  }
  return undefined;
}
