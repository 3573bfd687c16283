// keepalived's no_accept firewall, as 2.2.7 built with NFTABLES does it (vrrp_nftables.c), driven with the
// `nft` command. RFC 5798 §6.4.3: a MASTER that is not the address owner and is not in Accept_Mode must
// not accept packets addressed to its VIPs. keepalived enforces that with its own nftables tables when an
// instance has `no_accept`, or `vrrp_strict` without `accept` (a v2 `accept` is reset under strict; the
// config model resolves all that into `accept`, priority 255 always accepting). Without `nftables` in
// global_defs 2.2.7 still uses nftables: "use_vmac or no_accept/strict specified, but no firewall
// configured - using nftables".
//
// Observed with keepalived 2.2.7 in network namespaces (`nft list ruleset` in each state):
//  * Nothing exists until the first no-accept instance becomes MASTER. Then `table ip keepalived` and/or
//    `table ip6 keepalived` appear, each only once a VIP of that family has to be dropped.
//  * ip:  set `vips` (ipv4_addr); chains `out` (hook output) and `in` (hook input), priority filter - 1,
//         policy accept; `ip saddr @vips drop` / `ip daddr @vips drop`.
//  * ip6: the same, plus a constant set `neighbor-discovery` (NS, NA) accepted first so the VIPs still
//         resolve, and `fe80::/10` sent to chains `in_link_local` / `out_link_local` that match
//         `address . interface` in set `vips_link_local`; that set and its two rules appear only with
//         the first link-local VIP.
//  * Leaving MASTER (BACKUP, FAULT) removes the instance's VIPs (virtual_ipaddress and
//    virtual_ipaddress_excluded) from the sets; tables, chains and empty sets stay until keepalived stops,
//    which deletes both tables.
//  * global_defs `nftables NAME` renames the tables, `nftables_priority N` sets the hook priority
//    (default -1), `nftables_counters` adds `counter` to every rule; `nftables_ifindex` changed nothing
//    visible (the set is `ipv6_addr . iface_index` either way).
//  * keepalived leaves a stale table after kill -9 and does not remove it at start, so VIP traffic stays
//    dropped while it is BACKUP. We delete our tables at open() instead.

import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { canonicalAddress, isIpv6LinkLocal } from './packet-codec.js';
import type { FirewallInstance, NoAcceptFirewallPort } from './types.js';

export interface FirewallOptions {
  /** global_defs `nftables NAME`; keepalived's default table name is `keepalived`. */
  table?: string | undefined;
  /** global_defs `nftables_priority`; default -1 (just before the usual filter chains). */
  priority?: number | undefined;
  /** global_defs `nftables_counters`. */
  counters?: boolean | undefined;
  /** The nft binary (default `nft` from PATH). */
  nftCommand?: string | undefined;
}

export interface ResolvedFirewallOptions {
  table: string;
  priority: number;
  counters: boolean;
}

/** Which addresses must be dropped, canonical and sorted. */
export interface DropSets {
  ipv4: string[];
  ipv6: string[];
  /** IPv6 link-local VIPs are only meaningful with their interface. */
  ipv6LinkLocal: { address: string; interface: string }[];
}

/** What exists in the kernel as far as this adapter knows: structure plus set contents. */
export interface AppliedFirewall {
  ipv4Table: boolean;
  ipv6Table: boolean;
  ipv6LinkLocalSet: boolean;
  sets: DropSets;
}

export const NO_FIREWALL: AppliedFirewall = {
  ipv4Table: false,
  ipv6Table: false,
  ipv6LinkLocalSet: false,
  sets: { ipv4: [], ipv6: [], ipv6LinkLocal: [] },
};

// nft identifiers are spliced into a script: accept only names that need no quoting (and cannot inject).
const SAFE_TABLE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
// Linux interface names (IFNAMSIZ 16) as they can appear inside an nft double-quoted string.
const SAFE_IFNAME = /^[A-Za-z0-9_.@:+-]{1,15}$/;

export function resolveFirewallOptions(opts: FirewallOptions = {}): ResolvedFirewallOptions {
  const table = opts.table ?? 'keepalived';
  if (!SAFE_TABLE.test(table)) throw new Error(`no-accept firewall: invalid nftables table name "${table}"`);
  const priority = opts.priority ?? -1;
  if (!Number.isInteger(priority)) throw new Error(`no-accept firewall: nftables priority must be an integer, got ${priority}`);
  return { table, priority, counters: opts.counters ?? false };
}

/**
 * The pure rule: VIPs of instances that are MASTER and must not accept. Every other state (INIT, BACKUP,
 * FAULT, STOP) holds no VIPs, so keepalived removes its drop rule on leaving MASTER (vrrp_state_leave_master).
 */
export function noAcceptDropSets(instances: readonly FirewallInstance[]): DropSets {
  const ipv4 = new Set<string>();
  const ipv6 = new Set<string>();
  const linkLocal = new Map<string, { address: string; interface: string }>();
  for (const inst of instances) {
    if (inst.state !== 'MASTER' || inst.accept) continue;
    for (const vip of inst.vips) {
      const where = `(${inst.name}) no-accept firewall`;
      const version = isIP(vip.address);
      if (version !== (vip.family === 'inet' ? 4 : 6)) {
        throw new Error(`${where}: VIP "${vip.address}" is not an ${vip.family === 'inet' ? 'IPv4' : 'IPv6'} address`);
      }
      const address = canonicalAddress(vip.address);
      if (version === 4) ipv4.add(address);
      else if (!isIpv6LinkLocal(address)) ipv6.add(address);
      else {
        if (!SAFE_IFNAME.test(vip.interface)) throw new Error(`${where}: invalid interface name "${vip.interface}" for ${address}`);
        linkLocal.set(`${address}%${vip.interface}`, { address, interface: vip.interface });
      }
    }
  }
  return {
    ipv4: [...ipv4].sort(),
    ipv6: [...ipv6].sort(),
    ipv6LinkLocal: [...linkLocal.keys()].sort().map((k) => linkLocal.get(k)!),
  };
}

function tableScript(family: 'ip' | 'ip6', o: ResolvedFirewallOptions): string[] {
  const t = `${family} ${o.table}`;
  const counter = o.counters ? ' counter' : '';
  const hook = (h: string): string => `{ type filter hook ${h} priority ${o.priority}; policy accept; }`;
  const lines = [`add table ${t}`, `add set ${t} vips { type ${family === 'ip' ? 'ipv4_addr' : 'ipv6_addr'}; }`];
  if (family === 'ip') {
    lines.push(
      `add chain ${t} out ${hook('output')}`,
      `add chain ${t} in ${hook('input')}`,
      `add rule ${t} out ip saddr @vips${counter} drop`,
      `add rule ${t} in ip daddr @vips${counter} drop`,
    );
    return lines;
  }
  // Neighbour discovery stays open: a no-accept MASTER must still answer NS for its VIPs (RFC 5798 §6.4.3).
  lines.push(
    `add set ${t} neighbor-discovery { type icmpv6_type; flags constant; elements = { nd-neighbor-solicit, nd-neighbor-advert }; }`,
    `add chain ${t} out ${hook('output')}`,
    `add chain ${t} in ${hook('input')}`,
    `add chain ${t} in_link_local`,
    `add chain ${t} out_link_local`,
  );
  for (const [chain, dir] of [
    ['out', 'saddr'],
    ['in', 'daddr'],
  ] as const) {
    lines.push(
      `add rule ${t} ${chain} icmpv6 type @neighbor-discovery${counter} accept`,
      `add rule ${t} ${chain} ip6 ${dir} fe80::/10${counter} goto ${chain}_link_local`,
      `add rule ${t} ${chain} ip6 ${dir} @vips${counter} drop`,
    );
  }
  return lines;
}

function linkLocalSetScript(o: ResolvedFirewallOptions): string[] {
  const t = `ip6 ${o.table}`;
  const counter = o.counters ? ' counter' : '';
  return [
    `add set ${t} vips_link_local { type ipv6_addr . iface_index; }`,
    `add rule ${t} in_link_local ip6 daddr . iif @vips_link_local${counter} drop`,
    `add rule ${t} out_link_local ip6 saddr . oif @vips_link_local${counter} drop`,
  ];
}

function elementLines(verb: 'add' | 'delete', family: 'ip' | 'ip6', table: string, set: string, items: string[]): string[] {
  return items.length === 0 ? [] : [`${verb} element ${family} ${table} ${set} { ${items.join(', ')} }`];
}

function difference(a: string[], b: string[]): string[] {
  const other = new Set(b);
  return a.filter((x) => !other.has(x));
}

/**
 * One atomic nft batch taking the kernel from `applied` to `desired` (empty when nothing changes), and the
 * state it leaves. Tables and the link-local set are created lazily and never removed here, as keepalived.
 */
export function nftUpdateScript(
  applied: AppliedFirewall,
  desired: DropSets,
  o: ResolvedFirewallOptions,
): { script: string; next: AppliedFirewall } {
  const lines: string[] = [];
  const next: AppliedFirewall = {
    ipv4Table: applied.ipv4Table || desired.ipv4.length > 0,
    ipv6Table: applied.ipv6Table || desired.ipv6.length + desired.ipv6LinkLocal.length > 0,
    ipv6LinkLocalSet: applied.ipv6LinkLocalSet || desired.ipv6LinkLocal.length > 0,
    sets: desired,
  };
  if (next.ipv4Table && !applied.ipv4Table) lines.push(...tableScript('ip', o));
  if (next.ipv6Table && !applied.ipv6Table) lines.push(...tableScript('ip6', o));
  if (next.ipv6LinkLocalSet && !applied.ipv6LinkLocalSet) lines.push(...linkLocalSetScript(o));

  const ll = (s: DropSets): string[] => s.ipv6LinkLocal.map((e) => `${e.address} . "${e.interface}"`);
  const sets: ['ip' | 'ip6', string, string[], string[]][] = [
    ['ip', 'vips', applied.sets.ipv4, desired.ipv4],
    ['ip6', 'vips', applied.sets.ipv6, desired.ipv6],
    ['ip6', 'vips_link_local', ll(applied.sets), ll(desired)],
  ];
  for (const [family, set, before, after] of sets) {
    lines.push(...elementLines('delete', family, o.table, set, difference(before, after)));
    lines.push(...elementLines('add', family, o.table, set, difference(after, before)));
  }
  return { script: lines.length === 0 ? '' : `${lines.join('\n')}\n`, next };
}

/** Deletes both tables whether or not they exist (`add` first makes the `delete` always valid). */
export function nftRemoveScript(table: string): string {
  return ['ip', 'ip6'].map((f) => `add table ${f} ${table}\ndelete table ${f} ${table}\n`).join('');
}

function runNft(command: string, script: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, ['-f', '-'], { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const code = (err as NodeJS.ErrnoException).code;
      const reason =
        code === 'ENOENT' ? `the ${command} command was not found (install the nftables package)` : stderr.trim() || err.message;
      reject(new Error(`no-accept firewall: ${what} failed: ${reason}`));
    });
    child.stdin?.on('error', () => {
      // nft exiting early (bad script, missing binary) closes stdin: the exit callback reports it
    });
    child.stdin?.end(script);
  });
}

/** The adapter: keeps the nftables tables equal to noAcceptDropSets(instances). */
export class NoAcceptFirewall implements NoAcceptFirewallPort {
  private applied: AppliedFirewall = NO_FIREWALL;
  /** After a failed batch the kernel state is unknown: the next update rebuilds from scratch. */
  private unknown = false;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly options: ResolvedFirewallOptions,
    private readonly nft: string,
  ) {}

  /** Removes tables left by a killed predecessor (ours or keepalived's, same name) and checks nft works. */
  static async open(opts: FirewallOptions = {}): Promise<NoAcceptFirewall> {
    const fw = new NoAcceptFirewall(resolveFirewallOptions(opts), opts.nftCommand ?? 'nft');
    await runNft(fw.nft, nftRemoveScript(fw.options.table), `removing stale tables "${fw.options.table}" at start`);
    return fw;
  }

  update(instances: readonly FirewallInstance[]): Promise<void> {
    // Computed now (throws synchronously-in-promise on bad input), applied in call order.
    let desired: DropSets;
    try {
      desired = noAcceptDropSets(instances);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.enqueue(async () => {
      if (this.closed) return;
      const from = this.unknown ? NO_FIREWALL : this.applied;
      const { script, next } = nftUpdateScript(from, desired, this.options);
      if (script === '') return;
      const prefix = this.unknown ? nftRemoveScript(this.options.table) : '';
      try {
        await runNft(this.nft, prefix + script, `updating table "${this.options.table}"`);
        this.applied = next;
        this.unknown = false;
      } catch (e) {
        this.unknown = true;
        throw e;
      }
    });
  }

  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      await runNft(this.nft, nftRemoveScript(this.options.table), `removing tables "${this.options.table}" at stop`);
    });
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
