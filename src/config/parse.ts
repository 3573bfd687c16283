// parseConfig(): keepalived.conf → typed model + diagnostics, as keepalived 2.2.7 reads it. The keyword
// tables live in parse/, one file per domain as keepalived splits them (global_parser.c, vrrp_parser.c,
// check_parser.c, one per checker); they share a ParseContext (parse/context.ts). Never throws.

import type { KeywordTable } from './engine.js';
import type { FileAccess } from './reader.js';
import { emptyConfig, ParseContext, table, type FullParseOptions, type FullParseResult } from './parse/context.js';
import { globalTable } from './parse/global.js';
import { closeScript, closeTrackFile, closeTrackProcess, openScript, openTrackFile, openTrackProcess, scriptTable, trackFileTable, trackProcessTable } from './parse/trackers.js';
import { staticAddresses, staticRoutes } from './parse/addresses.js';
import { instanceTable, openInstance, openSync, syncTable } from './parse/vrrp.js';
import { completeVrrp } from './parse/vrrp-complete.js';
import { closeVs, openSsl, openVs, readVsg, sslTable, vsTable } from './parse/lvs.js';
import { completeLvs, completeSsl } from './parse/lvs-complete.js';
import { checkScriptSecurity } from './parse/script-security.js';

export { MAX_DIAGNOSTIC_CHARS } from './parse/context.js';
export type { FullParseOptions, FullParseResult, ScriptCheckOptions } from './parse/context.js';
export { VIP_OPTION_STATUS } from './parse/addresses.js';
export type { FileAccess };

/** Parses a keepalived configuration file. Never throws. */
export function parseConfig(path: string, options: FullParseOptions = {}): FullParseResult {
  try {
    return parse(new ParseContext(path, options));
  } catch (err) {
    // A parser bug must not take the daemon down with a stack trace; report it as a config error.
    const config = emptyConfig(path, options.hostname ?? 'localhost');
    return {
      config,
      diagnostics: [{ severity: 'error', file: path, line: 1, message: `internal parser error: ${String(err)}` }],
      securityViolation: false,
      missingFile: false,
    };
  }
}

/**
 * The parser's keyword tables, root first, for the keyword catalogue (docs/KEYWORDS.md). Building them
 * has no effect: handlers only run on input.
 */
export function parserKeywordTables(): KeywordTable {
  const none: FileAccess = { readFile: () => undefined, expandGlob: () => [], dirname: () => '/', resolve: (_d, p) => p, cwd: () => '/' };
  return rootTable(new ParseContext('/dev/null', { files: none, hostname: 'localhost' }));
}

function parse(ctx: ParseContext): FullParseResult {
  if (!ctx.reader.open()) {
    ctx.diagnostics.push({ severity: 'error', file: ctx.path, line: 1, message: `Config files missing '${ctx.path}'.` });
    return { config: ctx.config, diagnostics: ctx.diagnostics, securityViolation: false, missingFile: true };
  }
  ctx.engine.run(rootTable(ctx));
  const open = ctx.reader.unclosedBlocks;
  if (open > 0) {
    ctx.engine.error(`There are ${open} missing '}'s or extra '{'s`, undefined, {
      file: ctx.reader.lastFile,
      line: ctx.reader.lastLine,
    });
  }
  completeVrrp(ctx);
  completeLvs(ctx);
  completeSsl(ctx);
  if (ctx.options.checkInterfaces && ctx.missingInterfaceAt !== undefined) {
    ctx.engine.error('Non-existent interface specified in configuration', undefined, ctx.missingInterfaceAt);
  }
  // keepalived -t stops at a missing interface (CONFIG_BAD_IF), before the script checks.
  const securityViolation = ctx.missingInterfaceAt === undefined ? checkScriptSecurity(ctx) : false;
  return { config: ctx.config, diagnostics: ctx.diagnostics, securityViolation, missingFile: false };
}

/** The root keywords (keepalived's init_data: global_parser.c, vrrp_parser.c, check_parser.c). */
function rootTable(ctx: ParseContext): KeywordTable {
  const g = ctx.config.global;
  return table([
    ['global_defs', { sub: globalTable(ctx), handler: (_w, at) => (ctx.config.global.location = at) }],
    ['vrrp_script', { sub: scriptTable(ctx), handler: (w, at) => openScript(ctx, w, at), close: () => closeScript(ctx) }],
    ['vrrp_instance', { sub: instanceTable(ctx), handler: (w, at) => openInstance(ctx, w, at), close: () => (ctx.inst = undefined) }],
    ['vrrp_sync_group', { sub: syncTable(ctx), handler: (w, at) => openSync(ctx, w, at), close: () => (ctx.sync = undefined) }],
    ['virtual_server_group', { handler: (w, at) => readVsg(ctx, w, at) }],
    ['virtual_server', { sub: vsTable(ctx), handler: (w, at) => openVs(ctx, w, at), close: () => closeVs(ctx) }],
    ['static_ipaddress', staticAddresses(ctx)],
    ['static_routes', staticRoutes(ctx, 'route')],
    ['static_rules', staticRoutes(ctx, 'rule')],
    // keepalived core/global_parser.c: read by the parent before it picks its pid files and namespace.
    [
      'net_namespace',
      {
        handler: (w) => {
          if (w[1] === undefined) return ctx.fail('net_namespace name missing - ignoring');
          if (g.netNamespace !== undefined) return ctx.fail(`Duplicate net_namespace definition ${w[1]} - ignoring`);
          g.netNamespace = w[1];
        },
      },
    ],
    ['net_namespace_ipvs', ctx.refuses('IPVS would be programmed in the network namespace the daemon runs in')],
    ['namespace_with_ipsets', ctx.warns('lvskeeper uses no ipsets')],
    [
      'instance',
      {
        handler: (w) => {
          if (w[1] === undefined) return ctx.fail('instance name missing - ignoring');
          if (g.instanceName !== undefined) return ctx.fail(`Duplicate instance definition ${w[1]} - ignoring`);
          g.instanceName = w[1];
        },
      },
    ],
    ['use_pid_dir', { handler: () => (g.usePidDir = true) }],
    ['child_wait_time', ctx.warns('children are respawned with lvskeeper\'s own back-off')],
    ['linkbeat_use_polling', ctx.warns('interface state comes from netlink link notifications')],
    ['linkbeat_interfaces', ctx.warnsBlock('interface state comes from netlink link notifications')],
    // keepalived 2.2.7: a root value block of `IFNAME DOWN_DELAY [UP_DELAY]` lines (vrrp_parser.c).
    [
      'interface_up_down_delays',
      {
        status: { kind: 'warns', why: 'interface up/down changes are acted on without delay', reportedByHandler: true },
        handler: (w, at) => {
          ctx.engine.valueBlock(w, () => undefined);
          ctx.engine.error('interface_up_down_delays is not supported: interface up/down changes are acted on without delay', 'interface_up_down_delays', at, 'unsupported');
        },
      },
    ],
    ['track_group', ctx.warnsBlock('track_group is only used by static addresses, routes and rules, which lvskeeper sets without tracking')],
    ['track_file', { sub: trackFileTable(ctx), handler: (w, at) => openTrackFile(ctx, w, at), close: () => closeTrackFile(ctx) }],
    ['vrrp_track_file', { sub: trackFileTable(ctx), handler: (w, at) => openTrackFile(ctx, w, at), close: () => closeTrackFile(ctx) }],
    ['vrrp_track_process', { sub: trackProcessTable(ctx), handler: (w, at) => openTrackProcess(ctx, w, at), close: () => closeTrackProcess(ctx) }],
    ['garp_group', ctx.warnsBlock('gratuitous ARPs follow the instance settings (vrrp_garp_* and garp_master_*)', ['garp_interval', 'gna_interval', 'interface', 'interfaces'])],
    [
      'bfd_instance',
      ctx.warnsBlock('lvskeeper has no BFD: instances and checkers tracking it never see it fail', [
        'source_ip', 'neighbor_ip', 'neighbour_ip', 'min_rx', 'min_tx', 'idle_tx', 'multiplier', 'passive', 'ttl', 'hoplimit', 'max_hops', 'weight', 'vrrp', 'checker',
      ]),
    ],
    ['SSL', { sub: sslTable(ctx), handler: (_w, at) => openSsl(ctx, at) }],
  ]);
}

