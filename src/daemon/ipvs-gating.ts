// Which vrrp_instances may gate their virtual servers on MASTER (lvskeeper's default), and which may not.
//
// A weight-0 track_script that reads the IPVS tables (the seed's lvs_check.sh: "exit 0 when
// /proc/net/ip_vs lists a TCP service") fails on a node that holds no virtual server, which puts the
// instance in FAULT, so it never becomes MASTER and never installs one: both nodes stay in FAULT.
// keepalived never meets this because it installs every virtual server on every node. For such an
// instance we program its virtual servers on all nodes, as keepalived does, and say why once.
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { Config } from '../config/model.js';
import { canonicalAddress } from '../ipvs/address.js';
import type { AddressFamily } from '../ipvs/types.js';

/** Matches a script that inspects the kernel's IPVS tables. */
const READS_IPVS = /\/proc\/net\/ip_vs|\bipvsadm\b|\blvsadm\b/;
const MAX_SCRIPT_BYTES = 64 * 1024;

export interface UngatedInstance {
  instance: string;
  script: string;
  /** Where the IPVS read was seen: the script file's path, or "command line". */
  evidence: string;
}

/** Reads a script file's text when it is small; undefined when unreadable or too big. */
export function readSmallFile(path: string): string | undefined {
  try {
    if (statSync(path).size > MAX_SCRIPT_BYTES) return undefined;
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** Instances with a weight-0 (FAULT on failure) track_script that reads the IPVS tables. */
export function instancesNeedingAllNodes(config: Config, readScript: (path: string) => string | undefined = readSmallFile): UngatedInstance[] {
  const scripts = new Map(config.vrrpScripts.map((s) => [s.name, s]));
  const found: UngatedInstance[] = [];
  for (const inst of config.vrrpInstances) {
    for (const track of inst.trackScripts) {
      const script = scripts.get(track.name);
      if (!script || (track.weight ?? script.weight) !== 0) continue;
      const evidence = ipvsEvidence(script.script, readScript);
      if (evidence) {
        found.push({ instance: inst.name, script: script.name, evidence });
        break;
      }
    }
  }
  return found;
}

function ipvsEvidence(commandLine: string, readScript: (path: string) => string | undefined): string | undefined {
  if (READS_IPVS.test(commandLine)) return 'command line';
  const program = commandLine.trim().replace(/^["']/, '').split(/[\s"']/)[0] ?? '';
  if (!isAbsolute(program)) return undefined;
  const text = readScript(program);
  return text !== undefined && READS_IPVS.test(text) ? program : undefined;
}

/** canonical VIP ("inet/10.0.0.1") -> the instances whose MASTER state gates the virtual servers on it. */
export type VipGates = ReadonlyMap<string, readonly string[]>;

/** The canonical id of an address, as VipGates keys it. */
export function vipGateId(family: AddressFamily, address: string): string {
  return `${family}/${canonicalAddress(family, address)}`;
}

/**
 * Which instances gate which VIPs under `config`; instances in `ungated` (instancesNeedingAllNodes)
 * gate nothing. Pure: computed again from the new configuration at reload, so instances added or
 * removed by a reload gain or lose their virtual servers' gating at once.
 */
export function vipGates(config: Pick<Config, 'vrrpInstances'>, ungated: ReadonlySet<string>): Map<string, string[]> {
  const gates = new Map<string, string[]>();
  for (const inst of config.vrrpInstances) {
    if (ungated.has(inst.name)) continue;
    for (const vip of [...inst.virtualIpAddresses, ...inst.virtualIpAddressesExcluded]) {
      const id = vipGateId(vip.family, vip.address);
      const owners = gates.get(id) ?? [];
      if (!owners.includes(inst.name)) owners.push(inst.name);
      gates.set(id, owners);
    }
  }
  return gates;
}

/**
 * One line per VIP whose gating a reload changed, for the log. Only VIPs that carry one of our
 * virtual servers matter (`served`: VipGates ids of the configured virtual server addresses).
 */
export function describeGateChanges(before: VipGates, after: VipGates, served: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  const who = (owners: readonly string[] | undefined): string =>
    owners && owners.length > 0 ? `only while (${owners.join(',')}) is MASTER` : 'on every node';
  for (const id of served) {
    const was = before.get(id);
    const now = after.get(id);
    if ((was ?? []).join(',') === (now ?? []).join(',')) continue;
    lines.push(`Reload: virtual servers on ${id.slice(id.indexOf('/') + 1)} are now installed ${who(now)} (were ${who(was)})`);
  }
  return lines;
}
