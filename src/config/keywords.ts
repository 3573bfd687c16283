// The keyword catalogue: every keyword the parser's tables know, where it is read and what lvskeeper
// does with it, walked from the tables themselves so that docs/KEYWORDS.md cannot drift from the code.
import type { KeywordStatus, KeywordTable } from './engine.js';
import { parserKeywordTables, VIP_OPTION_STATUS } from './parse.js';

export interface CatalogueEntry {
  /** Where the keyword is read: `top level`, `global_defs`, `virtual_server > real_server > TCP_CHECK`, … */
  context: string;
  keyword: string;
  status: 'works' | KeywordStatus['kind'];
  /** What lvskeeper does instead (`warns`, `refuses`), or what the keyword does (`extension`). */
  why?: string | undefined;
  /** The lvskeeper version since which the keyword has this status. */
  since: string;
}

/** The first version, whose keywords are listed without a `SINCE` entry. */
const FIRST_VERSION = '0.1.0';

/**
 * Keywords whose status changed after the first version, by `context > keyword` (or the bare keyword for
 * every context it appears in): the version that changed it.
 */
const SINCE: Readonly<Record<string, string>> = {
  peer: '0.2.0',
  preferred_lft: '0.2.0',
  home: '0.2.0',
  '-nodad': '0.2.0',
  noprefixroute: '0.2.0',
  autojoin: '0.2.0',
  mngtmpaddr: '0.2.0',
  lvs_flush_onstop: '0.2.0',
  old_unicast_checksum: '0.2.0',
  'vrrp_instance > lvs_sync_daemon_interface': '0.2.0',
  use_vmac: '0.2.0',
  vmac_xmit_base: '0.2.0',
  use_vmac_addr: '0.2.0',
  native_ipv6: '0.2.0',
  vmac_prefix: '0.2.0',
  vmac_addr_prefix: '0.2.0',
  'top level > instance': '0.2.0',
  'top level > use_pid_dir': '0.2.0',
  vrrp_startup_delay: '0.2.0',
  vrrp_garp_interval: '0.2.0',
  vrrp_gna_interval: '0.2.0',
  'vrrp_instance > promote_secondaries': '0.2.0',
  startup_script: '0.2.0',
  startup_script_timeout: '0.2.0',
  shutdown_script: '0.2.0',
  shutdown_script_timeout: '0.2.0',
  'vrrp_sync_group > global_tracking': '0.2.0',
  'top level > static_ipaddress': '0.2.0',
  'top level > static_routes': '0.2.0',
  'top level > static_rules': '0.2.0',
  'vrrp_instance > virtual_routes': '0.2.0',
  'vrrp_instance > virtual_rules': '0.2.0',
  'top level > vrrp_track_process': '0.2.0',
  'vrrp_instance > track_file': '0.2.0',
  'vrrp_instance > track_process': '0.2.0',
  'vrrp_sync_group > track_file': '0.2.0',
  'vrrp_sync_group > track_process': '0.2.0',
  'global_defs > notification_email': '0.2.0',
  'global_defs > notification_email_from': '0.2.0',
  'global_defs > smtp_server': '0.2.0',
  'global_defs > smtp_helo_name': '0.2.0',
  'global_defs > smtp_connect_timeout': '0.2.0',
  'global_defs > smtp_alert': '0.2.0',
  'global_defs > smtp_alert_vrrp': '0.2.0',
  'global_defs > smtp_alert_checker': '0.2.0',
  'global_defs > no_email_faults': '0.2.0',
  'global_defs > no_checker_emails': '0.2.0',
  'vrrp_instance > smtp_alert': '0.2.0',
  'vrrp_sync_group > smtp_alert': '0.2.0',
  'virtual_server > smtp_alert': '0.2.0',
  'virtual_server > real_server > smtp_alert': '0.2.0',
  vrrp_min_garp: '0.2.0',
  'top level > net_namespace': '0.2.0',
  'top level > net_namespace_ipvs': '0.2.0',
};

export const TOP_LEVEL = 'top level';
const VIP_LINE = 'virtual_ipaddress and static_ipaddress lines';

function since(path: readonly string[], keyword: string): string {
  const context = path.length === 0 ? TOP_LEVEL : path.join(' > ');
  return SINCE[`${context} > ${keyword}`] ?? SINCE[keyword] ?? FIRST_VERSION;
}

/** Every keyword of the tables, depth first in table order; a table seen twice is listed once. */
export function keywordCatalogue(root: KeywordTable = parserKeywordTables()): CatalogueEntry[] {
  const out: CatalogueEntry[] = [];
  const walk = (table: KeywordTable, path: string[]): void => {
    for (const [keyword, kw] of table) {
      out.push({
        context: path.length === 0 ? TOP_LEVEL : path.join(' > '),
        keyword,
        status: kw.status?.kind ?? 'works',
        why: kw.status?.why,
        since: since(path, keyword),
      });
      if (kw.sub !== undefined) walk(kw.sub, [...path, keyword]);
    }
  };
  // Read by the line reader before any table sees the line (keepalived's read_line).
  for (const keyword of ['include', 'include_check']) out.push({ context: 'any line', keyword, status: 'works', since: since(['any line'], keyword) });
  walk(root, []);
  for (const [option, status] of Object.entries(VIP_OPTION_STATUS)) {
    out.push({ context: VIP_LINE, keyword: option, status: status?.kind ?? 'works', why: status?.why, since: since([VIP_LINE], option) });
  }
  return out;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** docs/KEYWORDS.md. */
export function renderKeywordsMarkdown(entries: readonly CatalogueEntry[], version: string): string {
  const count = (s: CatalogueEntry['status']): number => entries.filter((e) => e.status === s).length;
  const lines = [
    '# keepalived.conf keywords in lvskeeper',
    '',
    'Generated from the parser\'s keyword tables (`npm run docs:keywords`); a unit test fails when this file',
    'and the tables differ, and when a keyword of keepalived 2.2.7\'s own list (its keepalived.conf(5) man page,',
    'checked against the installed binary) is missing here.',
    '',
    '- **works**: as keepalived 2.2.7 does.',
    '- **warns**: accepted, not acted on; each use is reported with file:line, as a warning naming what happens',
    '  instead, by `lvskeeper -t` (exit 0, as keepalived\'s) and in the log at start and at each reload.',
    '- **refuses**: without it the daemon would be less safe than keepalived (authentication, routes, addresses,',
    '  who owns a VIP): a configuration error (`-t` exits 5) until it is implemented.',
    '- **extension**: lvskeeper\'s own; keepalived 2.2.7 reports it as an unknown keyword.',
    '',
    `lvskeeper ${version}: ${count('works')} work, ${count('warns')} warn, ${count('refuses')} refused, ${count('extension')} extensions.`,
    'A keyword in none of these tables is reported as keepalived reports it: `Unknown keyword`.',
    '',
  ];
  const byContext = new Map<string, CatalogueEntry[]>();
  for (const e of entries) {
    const list = byContext.get(e.context) ?? [];
    list.push(e);
    byContext.set(e.context, list);
  }
  for (const [context, list] of byContext) {
    lines.push(`## ${context}`, '', '| keyword | status | since | instead |', '|---|---|---|---|');
    for (const e of list) lines.push(`| \`${cell(e.keyword)}\` | ${e.status} | ${e.since} | ${cell(e.why ?? '')} |`);
    lines.push('');
  }
  return lines.join('\n');
}
