// LinkManager: the rtnetlink requests behind keepalived's VMACs (vrrp_vmac.c, vrrp_if_config.c): macvlan
// create/delete, link up, IPv6 address generation off, IPv4 devconf, and the /proc/sys files keepalived
// writes directly (disable_ipv6, all/default rp_filter). Bytes in rtnetlink-codec.ts.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dumpAddresses, ipv6LinkLocal } from './interfaces.js';
import {
  AF_INET6,
  decodeLink,
  decodeLinkKind,
  EEXIST,
  encodeAddrGenModeNone,
  encodeAddressRequest,
  encodeIpv4Devconf,
  encodeLinkDelete,
  encodeLinkRequest,
  encodeLinkUp,
  encodeMacvlanCreate,
  ENODEV,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  RTM_DELLINK,
  RTM_GETLINK,
  RTM_NEWADDR,
  RTM_NEWLINK,
} from './rtnetlink-codec.js';
import { describeErrno, RtnlClient } from './rtnl.js';
import type { Family, Ipv4ConfName, LinkDetail, LinkManager } from './types.js';

function detail(data: Buffer): LinkDetail | undefined {
  const l = decodeLink(data);
  if (l === undefined) return undefined;
  return { name: l.name, index: l.index, up: l.up, running: l.running, mac: l.mac, ...decodeLinkKind(data) };
}

/** What the manager needs of rtnetlink and /proc/sys (tests pass fakes). */
export interface LinkManagerIo {
  request: RtnlClient['request'];
  close(): void;
  sysctlRoot?: string | undefined;
}

export class RtnlLinkManager implements LinkManager {
  private readonly root: string;

  constructor(private readonly io: LinkManagerIo) {
    this.root = io.sysctlRoot ?? '/proc/sys';
  }

  private async call(what: string, type: number, payload: Buffer, flags = 0, ok: number[] = []): Promise<void> {
    const r = await this.io.request(type, payload, flags);
    if (r.errno !== 0 && !ok.includes(r.errno)) throw new Error(`${what}: ${describeErrno(r.errno)}`);
  }

  async list(): Promise<LinkDetail[]> {
    const r = await this.io.request(RTM_GETLINK, encodeLinkRequest({}), NLM_F_DUMP);
    if (r.errno !== 0) throw new Error(`RTM_GETLINK dump failed: ${describeErrno(r.errno)}`);
    return r.messages.map((m) => detail(m.data)).filter((l): l is LinkDetail => l !== undefined);
  }

  async get(name: string): Promise<LinkDetail | undefined> {
    const r = await this.io.request(RTM_GETLINK, encodeLinkRequest({ name }), 0);
    if (r.errno === ENODEV) return undefined;
    if (r.errno !== 0) throw new Error(`interface ${name}: RTM_GETLINK failed: ${describeErrno(r.errno)}`);
    for (const m of r.messages) {
      const l = detail(m.data);
      if (l !== undefined) return l;
    }
    return undefined;
  }

  async createMacvlan(o: { name: string; parentIndex: number; mac: string }): Promise<LinkDetail> {
    await this.call(`cannot create macvlan ${o.name}`, RTM_NEWLINK, encodeMacvlanCreate(o), NLM_F_CREATE | NLM_F_EXCL);
    const l = await this.get(o.name);
    if (l === undefined) throw new Error(`macvlan ${o.name} vanished after its creation`);
    return l;
  }

  deleteLink(index: number): Promise<void> {
    return this.call(`cannot delete link #${index}`, RTM_DELLINK, encodeLinkDelete(index), 0, [ENODEV]);
  }

  setUp(index: number): Promise<void> {
    return this.call(`cannot bring link #${index} up`, RTM_NEWLINK, encodeLinkUp(index));
  }

  setAddrGenModeNone(index: number): Promise<void> {
    return this.call(`cannot set addrgenmode none on link #${index}`, RTM_NEWLINK, encodeAddrGenModeNone(index));
  }

  setIpv4Conf(index: number, values: Partial<Record<Ipv4ConfName, number>>): Promise<void> {
    return this.call(`cannot set ${Object.keys(values).join(', ')} on link #${index}`, RTM_NEWLINK, encodeIpv4Devconf(index, values));
  }

  addAddress(a: { family: Family; address: string; prefixLength: number; ifindex: number; preferredLifetime?: number | undefined }): Promise<void> {
    return this.call(`cannot add ${a.address}/${a.prefixLength} to link #${a.ifindex}`, RTM_NEWADDR, encodeAddressRequest({ ...a, nodad: true }), NLM_F_CREATE | NLM_F_EXCL, [EEXIST]);
  }

  async ipv6LinkLocal(index: number): Promise<string | undefined> {
    return ipv6LinkLocal(await dumpAddresses(AF_INET6, this.io), index);
  }

  private path(p: string): string {
    if (p.split('/').some((s) => s === '..' || s === '')) throw new Error(`bad sysctl path ${p}`);
    return join(this.root, p);
  }

  async readSysctl(p: string): Promise<number | undefined> {
    try {
      const n = Number.parseInt((await readFile(this.path(p), 'utf8')).trim(), 10);
      return Number.isFinite(n) ? n : undefined;
    } catch {
      return undefined;
    }
  }

  async writeSysctl(p: string, value: number): Promise<void> {
    await writeFile(this.path(p), `${value}\n`);
  }

  close(): void {
    this.io.close();
  }
}

/** A LinkManager on its own (unreferenced) rtnetlink request socket. */
export function openLinkManager(): LinkManager {
  const client = new RtnlClient();
  return new RtnlLinkManager({ request: (t, p, f) => client.request(t, p, f), close: () => client.close() });
}
