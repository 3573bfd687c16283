// Adapting the seed's keepalived.conf files (config/lb01.conf, config/lb02.conf) for the namespace lab:
// the lab's nodes have eth0 where the seed's VMs had ens33, and the vrrp_script path points at a
// script that exists here. Pure text rewriting so the operator's file stays what lvskeeper parses.

export interface AdaptOptions {
  /** Interface name in the seed file (default ens33). */
  fromInterface?: string;
  /** Interface name in the lab (default eth0). */
  toInterface?: string;
  /** Replacement path for every `.../lvs_check.sh` script reference. */
  checkScript: string;
  /** Comment lines put at the top (each gets a leading "! "). */
  notes?: string[];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The seed text with the interface renamed and the lvs_check script path replaced. */
export function adaptConfig(text: string, opts: AdaptOptions): string {
  const from = opts.fromInterface ?? 'ens33';
  const to = opts.toInterface ?? 'eth0';
  // Interface names appear as a whole word (interface ens33, track_interface { ens33 }, dev ens33).
  const ifRe = new RegExp(`(^|[\\s"{])${escapeRe(from)}(?=$|[\\s"}])`, 'gm');
  let out = text.replace(ifRe, `$1${to}`);
  // A script path ending in lvs_check.sh, quoted or not, possibly with arguments after it.
  out = out.replace(/(^|[\s"'])[^\s"']*lvs_check\.sh(?=$|[\s"'])/gm, `$1${opts.checkScript}`);
  const header = (opts.notes ?? []).map((n) => `! ${n}\n`).join('');
  return header + out;
}

/** `keyword` as the first line inside global_defs (a global_defs block is added when there is none). */
export function addGlobalFlag(text: string, keyword: string): string {
  const m = /^(\s*global_defs\s*\{)[ \t]*\n?/m.exec(text);
  if (!m) return `global_defs {\n    ${keyword}\n}\n${text}`;
  const at = m.index + m[0].length;
  return `${text.slice(0, m.index)}${m[1]}\n    ${keyword}\n${text.slice(at)}`;
}

/** The script the lab uses where the kernel has no ip_vs: the seed's check could never pass there. */
export function alwaysHealthyScript(): string {
  return [
    '#!/bin/sh',
    '# lvskeeper lab: stands in for config/lvs_check.sh on a kernel without ip_vs.',
    '# lvs_check.sh succeeds only while /proc/net/ip_vs lists a TCP virtual service; without the ip_vs',
    '# module that file never exists, the check would fail, and both load balancers would stay in FAULT.',
    'exit 0',
    '',
  ].join('\n');
}
