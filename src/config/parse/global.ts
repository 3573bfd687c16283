// global_defs (keepalived global_parser.c).

import type { FifoSetting, GlobalDefs, SourceLocation } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { familyOf, isDecimalInt, isIPv4, readFlag, readInt, readTimerMs, readUnsigned, TIMER_MAX_S, TIMER_MAX_UINT_S } from '../values.js';
import { type ParseContext, table } from './context.js';

export function globalTable(ctx: ParseContext): KeywordTable {
  const g = ctx.config.global;
  const flag = (apply: (v: boolean) => void): Keyword => ({ handler: (w) => apply(readFlag(w, ctx.fail)) });
  const str = (apply: (v: string) => void): Keyword => ({
    handler: (w) => {
      if (w[1] === undefined) ctx.fail(`${w[0]} requires a value`);
      else apply(w[1]);
    },
  });
  const garpDelay = (name: string, apply: (ms: number) => void): Keyword => ({
    handler: (w) => {
      const v = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail);
      if (v === undefined) ctx.fail(`${name} '${w[1] ?? ''}' invalid`);
      else {
        ctx.globalSet.add(name);
        apply(v);
      }
    },
  });
  const count = (name: string, min: number, max: number, apply: (v: number) => void): Keyword => ({
    handler: (w) => {
      const v = readUnsigned(w[1], min, max, ctx.fail);
      if (v === undefined) ctx.fail(`${name} '${w[1] ?? ''}' invalid`);
      else {
        ctx.globalSet.add(name);
        apply(v);
      }
    },
  });
  const fifo = (apply: (f: FifoSetting) => void, get: () => FifoSetting | undefined): [Keyword, Keyword] => [
    {
      handler: (w, at) => {
        if (w[1] === undefined) return ctx.fail(`${w[0]} requires a path`);
        const f: FifoSetting = { path: w[1], location: at };
        const prev = get();
        if (prev?.script) f.script = prev.script;
        if (w[2] !== undefined) {
          const s = ctx.scriptCommand(['', ...w.slice(2)], at);
          if (s) f.script = s;
        }
        apply(f);
      },
    },
    {
      handler: (w, at) => {
        const s = ctx.scriptCommand(w, at);
        const f = get();
        if (s && f) f.script = s;
        else if (s) apply({ path: '', script: s, location: at });
      },
    },
  ];
  const [nf, nfs] = fifo((f) => (g.notifyFifo = f), () => g.notifyFifo);
  const [vf, vfs] = fifo((f) => (g.vrrpNotifyFifo = f), () => g.vrrpNotifyFifo);
  const [lf, lfs] = fifo((f) => (g.lvsNotifyFifo = f), () => g.lvsNotifyFifo);
  const entries: Array<[string, Keyword]> = [
    ['router_id', str((v) => (g.routerId = v))],
    [
      'notification_email',
      {
        handler: (w, at) => {
          const before = g.notificationEmail.length;
          ctx.engine.valueBlock(w, (e) => g.notificationEmail.push(...e));
          if (g.notificationEmail.length === before) ctx.engine.error('Warning - empty notification_email block', undefined, at);
        },
      },
    ],
    ['notification_email_from', str((v) => (g.notificationEmailFrom = v))],
    [
      'smtp_server',
      {
        handler: (w) => {
          if (w[1] === undefined) return ctx.fail('smtp_server requires an address');
          let port = 25;
          if (w[2] !== undefined) port = readUnsigned(w[2], 1, 65535, ctx.fail) ?? 25;
          g.smtpServer = { address: w[1], port };
        },
      },
    ],
    [
      'smtp_connect_timeout',
      {
        handler: (w) => {
          const s = readUnsigned(w[1], 0, 4294, ctx.fail); // UINT_MAX / TIMER_HZ
          if (s === undefined) return;
          // keepalived accepts 0 for backward compatibility and uses 1 s.
          if (s === 0) ctx.fail('smtp_conect_timeout must be greater than 0, setting to 1');
          g.smtpConnectTimeoutMs = Math.max(1, s) * 1000;
        },
      },
    ],
    ['smtp_alert', flag((v) => (g.smtpAlert = v))],
    ['smtp_alert_vrrp', flag((v) => (g.smtpAlertVrrp = v))],
    ['smtp_alert_checker', flag((v) => (g.smtpAlertChecker = v))],
    ['smtp_helo_name', str((v) => (g.smtpHeloName = v))],
    [
      'vmac_prefix',
      str((v) => {
        if (g.vmacPrefix !== undefined) ctx.fail(`vmac prefix has already been specified - ignoring ${v}`);
        else g.vmacPrefix = v;
      }),
    ],
    [
      'vmac_addr_prefix',
      str((v) => {
        if (g.vmacAddrPrefix !== undefined) ctx.fail(`vmac_addr prefix has already been specified - ignoring ${v}`);
        else g.vmacAddrPrefix = v;
      }),
    ],
    ['startup_script', { handler: (w, at) => startStopScript(ctx, w, at, 'startup') }],
    ['startup_script_timeout', { handler: (w) => startStopScriptTimeout(ctx, w, 'startup') }],
    ['shutdown_script', { handler: (w, at) => startStopScript(ctx, w, at, 'shutdown') }],
    ['shutdown_script_timeout', { handler: (w) => startStopScriptTimeout(ctx, w, 'shutdown') }],
    ['no_checker_emails', flag((v) => (g.noCheckerEmails = v))],
    ['checker_log_all_failures', flag((v) => (g.checkerLogAllFailures = v))],
    [
      'vrrp_mcast_group4',
      str((v) => {
        if (isIPv4(v)) g.vrrpMcastGroup4 = v;
        else ctx.fail(`vrrp_mcast_group4 '${v}' is invalid`);
      }),
    ],
    [
      'vrrp_mcast_group6',
      str((v) => {
        if (familyOf(v) === 'inet6') g.vrrpMcastGroup6 = v;
        else ctx.fail(`vrrp_mcast_group6 '${v}' is invalid`);
      }),
    ],
    [
      'vrrp_version',
      {
        handler: (w) => {
          const v = readUnsigned(w[1], 2, 3, ctx.fail);
          if (v === undefined) ctx.fail(`vrrp_version invalid`);
          else g.vrrpVersion = v as 2 | 3;
        },
      },
    ],
    ['vrrp_garp_master_delay', garpDelay('vrrp_garp_master_delay', (v) => (g.vrrpGarpMasterDelayMs = v))],
    ['vrrp_garp_master_repeat', count('vrrp_garp_master_repeat', 0, 4294967295, (v) => (g.vrrpGarpMasterRepeat = v))],
    ['vrrp_garp_master_refresh', garpDelay('vrrp_garp_master_refresh', (v) => (g.vrrpGarpMasterRefreshMs = v))],
    [
      'vrrp_garp_master_refresh_repeat',
      count('vrrp_garp_master_refresh_repeat', 1, 4294967295, (v) => (g.vrrpGarpMasterRefreshRepeat = v)),
    ],
    ['vrrp_garp_lower_prio_delay', garpDelay('vrrp_garp_lower_prio_delay', (v) => (g.vrrpGarpLowerPrioDelayMs = v))],
    [
      'vrrp_garp_lower_prio_repeat',
      count('vrrp_garp_lower_prio_repeat', 0, 4294967295, (v) => (g.vrrpGarpLowerPrioRepeat = v)),
    ],
    // 2.2.7 reads these with a minimum of 1 µs, so the sample's explicit `0` is rejected.
    [
      'vrrp_garp_interval',
      {
        handler: (w) => {
          const v = readTimerMs(w[1], 0.000001, TIMER_MAX_UINT_S, ctx.fail);
          if (v === undefined) ctx.fail(`vrrp_garp_interval '${w[1] ?? ''}' is invalid`);
          else g.vrrpGarpIntervalMs = v;
        },
      },
    ],
    [
      'vrrp_gna_interval',
      {
        handler: (w) => {
          const v = readTimerMs(w[1], 0.000001, TIMER_MAX_UINT_S, ctx.fail);
          if (v === undefined) ctx.fail(`vrrp_gna_interval '${w[1] ?? ''}' is invalid`);
          else g.vrrpGnaIntervalMs = v;
        },
      },
    ],
    [
      'vrrp_min_garp',
      flag((v) => {
        g.vrrpMinGarp = v;
        if (!v) return;
        // keepalived vrrp_min_garp_handler: one GARP/NA and no repeat, refresh or second burst, leaving
        // alone whatever was already set to other than its default (later lines still override).
        if (g.vrrpGarpMasterRepeat === 5) g.vrrpGarpMasterRepeat = 1;
        if (g.vrrpGarpMasterRefreshRepeat === 1) g.vrrpGarpMasterRefreshRepeat = 0;
        if (g.vrrpGarpMasterDelayMs === 5000) g.vrrpGarpMasterDelayMs = 0;
      }),
    ],
    ['vrrp_strict', flag((v) => (g.vrrpStrict = v))],
    ['vrrp_skip_check_adv_addr', flag((v) => (g.vrrpSkipCheckAdvAddr = v))],
    ['vrrp_notify_priority_changes', flag((v) => (g.vrrpNotifyPriorityChanges = v))],
    ['vrrp_check_unicast_src', flag((v) => (g.vrrpCheckUnicastSrc = v))],
    ['vrrp_lower_prio_no_advert', flag((v) => (g.vrrpLowerPrioNoAdvert = v))],
    ['vrrp_higher_prio_send_advert', flag((v) => (g.vrrpHigherPrioSendAdvert = v))],
    [
      'vrrp_down_timer_adverts',
      {
        handler: (w) => {
          const v = readUnsigned(w[1], 1, 100, ctx.fail);
          if (v !== undefined) g.vrrpDownTimerAdverts = v;
        },
      },
    ],
    [
      'vrrp_startup_delay',
      {
        handler: (w) => {
          const v = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail);
          if (v !== undefined) g.vrrpStartupDelayMs = v;
        },
      },
    ],
    ['dynamic_interfaces', { ...flag((v) => (g.dynamicInterfaces = v)), status: { kind: 'warns', why: 'an instance whose interface is missing at start is not run' } }],
    [
      'script_user',
      {
        handler: (w) => {
          if (w[1] === undefined) return ctx.fail('script_user requires a user');
          const [user, group] = w[1].includes(':') ? (w[1].split(':', 2) as [string, string]) : [w[1], w[2]];
          g.scriptUser = group === undefined ? { user } : { user, group };
        },
      },
    ],
    ['enable_script_security', flag((v) => (g.enableScriptSecurity = v))],
    ['notify_fifo', nf],
    ['notify_fifo_script', nfs],
    ['vrrp_notify_fifo', vf],
    ['vrrp_notify_fifo_script', vfs],
    ['lvs_notify_fifo', lf],
    ['lvs_notify_fifo_script', lfs],
    ['lvs_sync_daemon', { handler: (w, at) => lvsSyncDaemon(ctx, w, at) }],
    ['lvs_timeouts', { handler: (w, at) => lvsTimeouts(ctx, w, at) }],
    ['lvs_flush', flag((v) => (g.lvsFlush = v))],
    ['lvs_flush_on_stop', { handler: (w) => lvsFlushOnStop(ctx, w) }],
    // keepalived 2.2.7 keeps the pre-2.1.5 spelling as an alias.
    ['lvs_flush_onstop', { handler: (w) => lvsFlushOnStop(ctx, w) }],
    ['state_file_location', ctx.extension('where SIGUSR1 writes the state dump', str((v) => (g.stateFileLocation = v)))],
    ['stats_file_location', ctx.extension('where SIGUSR2 writes the statistics', str((v) => (g.statsFileLocation = v)))],
    ['json_file_location', ctx.extension('where the JSON dump is written', str((v) => (g.jsonFileLocation = v)))],
    [
      'max_auto_priority',
      {
        status: { kind: 'warns', why: 'the VRRP process is realtime (SCHED_RR) from the start: see vrrp_rt_priority' },
        handler: (w) => {
          if (w[1] === undefined) g.maxAutoPriority = -1;
          else {
            const v = readInt(w[1], -1, 99, ctx.fail);
            if (v !== undefined) g.maxAutoPriority = v;
          }
        },
      },
    ],
    ['lvs_program_on_all_nodes', ctx.extension("every node keeps a VIP's virtual servers installed, as keepalived does (by default only its MASTER does)", flag((v) => (g.lvsProgramOnAllNodes = v)))],
    ['vrrp_priority', { handler: (w) => void (g.vrrpPriority = niceValue(ctx, w[1], 'vrrp') ?? g.vrrpPriority) }],
    ['checker_priority', { handler: (w) => void (g.checkerPriority = niceValue(ctx, w[1], 'checker') ?? g.checkerPriority) }],
    ['vrrp_rt_priority', { handler: (w) => void (g.vrrpRtPriority = realtimePriority(ctx, w[1], 'vrrp') ?? g.vrrpRtPriority) }],
    ['checker_rt_priority', { handler: (w) => void (g.checkerRtPriority = realtimePriority(ctx, w[1], 'checker') ?? g.checkerRtPriority) }],
    ['vrrp_rlimit_rttime', { handler: (w) => void (g.vrrpRlimitRttimeUs = realtimeLimit(ctx, w, 'vrrp') ?? g.vrrpRlimitRttimeUs) }],
    ['vrrp_rlimit_rtime', { handler: (w) => void (g.vrrpRlimitRttimeUs = realtimeLimit(ctx, w, 'vrrp') ?? g.vrrpRlimitRttimeUs) }],
    ['checker_rlimit_rttime', { handler: (w) => void (g.checkerRlimitRttimeUs = realtimeLimit(ctx, w, 'checker') ?? g.checkerRlimitRttimeUs) }],
    ['checker_rlimit_rtime', { handler: (w) => void (g.checkerRlimitRttimeUs = realtimeLimit(ctx, w, 'checker') ?? g.checkerRlimitRttimeUs) }],
    // keepalived 2.2.7 accepts these (global_parser.c); lvskeeper does not act on them, and says so.
    [
      'default_interface',
      {
        status: { kind: 'warns', why: 'an instance without interface does not use it', reportedByHandler: true },
        handler: (w, at) => {
          if (w[1] === undefined) return ctx.fail('default_interface requires interface name');
          ctx.engine.error(`default_interface is not supported: ignored, an instance without interface does not use ${w[1]}`, 'default_interface', at, 'unsupported');
        },
      },
    ],
    [
      'min_auto_priority_delay',
      {
        status: { kind: 'warns', why: 'the realtime priority does not depend on a start-up delay', reportedByHandler: true },
        handler: (w, at) => {
          if (w[1] === undefined) return ctx.fail('min_auto_priority_delay requires delay time');
          if (readInt(w[1], 1, 10000000, () => undefined) === undefined) {
            return ctx.fail(`min_auto_priority_delay '${w[1]}' must be in [1, 10000000] - ignoring`);
          }
          ctx.engine.error('min_auto_priority_delay is not supported: ignored, the realtime priority does not depend on a start-up delay', 'min_auto_priority_delay', at, 'unsupported');
        },
      },
    ],
    ['no_email_faults', { handler: () => (g.noEmailFaults = true) }],
    // keepalived: "'lvs_process_name' is deprecated - please use 'checker_process_name'".
    ['lvs_process_name', { status: { kind: 'warns', why: 'the checker process keeps its default name', reportedByHandler: true }, handler: (_w, at) => ctx.engine.error("lvs_process_name is not supported by lvskeeper: the checker process keeps its default name (and the keyword is deprecated: use 'checker_process_name')", 'lvs_process_name', at, 'unsupported') }],
  ];
  // Keywords keepalived 2.2.7 accepts in global_defs that lvskeeper does not act on, with what happens
  // instead. (net_namespace, instance, use_pid_dir, … are root keywords: inside global_defs keepalived
  // reports them as unknown, and so does this table.)
  const processNames = "the processes keep lvskeeper's names";
  const noBfd = 'lvskeeper has no BFD process';
  const noSnmp = 'lvskeeper has no SNMP agent: use `lvskeeper status` or the Prometheus metrics';
  const noDbus = 'lvskeeper has no DBus interface: use `lvskeeper status`';
  const netlinkBufs = 'netlink sockets keep their sizes; an overflow is recovered by reading the state again';
  const noGarpExtra = "no periodic gratuitous ARPs on the VMACs' base interfaces: only the VIPs' interfaces get them";
  const nftIpvs = 'no nftables rules are added for virtual servers (keepalived uses them for IPv6 fwmark groups)';
  const scheduledReload = 'scheduled reloads are not supported: reload with `systemctl reload lvskeeper` (SIGHUP)';
  const unsupportedGlobals: Record<string, string> = {
    process_names: processNames, process_name: processNames, vrrp_process_name: processNames,
    checker_process_name: processNames, bfd_process_name: noBfd,
    vrrp_iptables: 'no_accept and strict instances are filtered with nftables (table keepalived), not iptables',
    nftables: 'the nftables tables keep the name keepalived',
    nftables_priority: 'the nftables chains keep priority filter - 1',
    nftables_ifindex: 'link-local VIPs are matched by interface index either way',
    nftables_counters: 'the nftables rules have no counters',
    nftables_ipvs: nftIpvs, nftables_ipvs_priority: nftIpvs, nftables_ipvs_start_fwmark: nftIpvs,
    bfd_priority: noBfd, bfd_no_swap: noBfd, bfd_cpu_affinity: noBfd, bfd_rt_priority: noBfd,
    bfd_rlimit_rtime: noBfd, bfd_rlimit_rttime: noBfd,
    vrrp_no_swap: 'the VRRP process memory is not locked against swapping',
    checker_no_swap: 'the checker process memory is not locked against swapping',
    vrrp_cpu_affinity: 'the VRRP process may run on any CPU',
    checker_cpu_affinity: 'the checker process may run on any CPU',
    snmp_socket: noSnmp, enable_snmp_keepalived: noSnmp, enable_snmp_vrrp: noSnmp, enable_snmp_checker: noSnmp,
    enable_snmp_rfc: noSnmp, enable_snmp_rfcv2: noSnmp, enable_snmp_rfcv3: noSnmp, enable_traps: noSnmp,
    enable_dbus: noDbus, dbus_service_name: noDbus,
    fifo_write_vrrp_states_on_reload: 'the notify FIFO gets no state lines at a reload',
    vrrp_netlink_cmd_rcv_bufs: netlinkBufs, vrrp_netlink_cmd_rcv_bufs_force: netlinkBufs,
    vrrp_netlink_monitor_rcv_bufs: netlinkBufs, vrrp_netlink_monitor_rcv_bufs_force: netlinkBufs,
    lvs_netlink_cmd_rcv_bufs: netlinkBufs, lvs_netlink_cmd_rcv_bufs_force: netlinkBufs,
    lvs_netlink_monitor_rcv_bufs: netlinkBufs, lvs_netlink_monitor_rcv_bufs_force: netlinkBufs,
    process_monitor_rcv_bufs: netlinkBufs, process_monitor_rcv_bufs_force: netlinkBufs,
    rs_init_notifies: 'notify_up/notify_down scripts run on changes, not for the state found at start',
    vrrp_rx_bufs_policy: 'the VRRP sockets keep the kernel\'s receive buffer size',
    vrrp_rx_bufs_multiplier: 'the VRRP sockets keep the kernel\'s receive buffer size',
    log_unknown_vrids: 'adverts for VRIDs not configured here are dropped without a log line',
    umask: 'files are created with the umask lvskeeper was started with',
    random_seed: 'randomness is not seeded from the configuration',
    reload_check_config: 'every reload is checked before it is applied anyway; the result goes to the journal, not to a file',
    reload_time_file: scheduledReload, reload_repeat: scheduledReload, reload_file: scheduledReload,
    config_save_dir: 'configurations are not saved',
    data_use_instance: 'dump files keep lvskeeper\'s names',
    tmp_config_directory: 'no temporary copy of the configuration is made',
    vrrp_garp_extra_if: noGarpExtra,
    vrrp_vmac_garp_intvl: noGarpExtra,
    disable_local_igmp: 'IGMP reports are left as the kernel sends them',
  };
  for (const [name, why] of Object.entries(unsupportedGlobals)) {
    if (!entries.some(([n]) => n === name)) entries.push([name, ctx.warns(why)]);
  }
  return table(entries);
}

/** `vrrp_priority` / `checker_priority`: a nice value, with keepalived's two-line complaint when out of range. */
function niceValue(ctx: ParseContext, word: string | undefined, process: 'vrrp' | 'checker'): number | undefined {
  const v = readInt(word, -20, 19, ctx.fail);
  if (v === undefined) ctx.engine.error(`Invalid ${process} process priority specified`);
  return v;
}

/**
 * `vrrp_rt_priority` / `checker_rt_priority` (keepalived get_realtime_priority): out-of-range values are
 * clamped to SCHED_RR's 1..99 with keepalived's complaint. 0 is accepted silently as lvskeeper's "not
 * realtime", the one way to turn off the VRRP child's default (keepalived would complain and use 1).
 */
function realtimePriority(ctx: ParseContext, word: string | undefined, process: 'vrrp' | 'checker'): number | undefined {
  if (word === undefined) {
    ctx.engine.error(`No ${process} process real-time priority specified`);
    return undefined;
  }
  const v = isDecimalInt(word) ? Number(word) : NaN;
  if (!Number.isSafeInteger(v)) {
    ctx.engine.error(`${process} process real-time priority '${word}' invalid`);
    return undefined;
  }
  if (v === 0) return 0;
  if (v < 1) {
    ctx.engine.error(`${process} process real-time priority ${v} less than minimum 1 - setting to minimum`);
    return 1;
  }
  if (v > 99) {
    ctx.engine.error(`${process} process real-time priority ${v} greater than maximum 99 - setting to maximum`);
    return 99;
  }
  return v;
}

/** `*_rlimit_rttime USEC` (keepalived get_rt_rlimit; `*_rlimit_rtime` is its deprecated spelling). */
function realtimeLimit(ctx: ParseContext, words: string[], process: 'vrrp' | 'checker'): number | undefined {
  const keyword = words[0] ?? '';
  if (keyword.endsWith('_rtime')) {
    ctx.engine.error(`Keyword '${keyword}' is deprecated - please use '${keyword.slice(0, -5)}rttime'`, undefined, undefined, 'info');
  }
  const word = words[1];
  const v = word !== undefined && isDecimalInt(word) ? Number(word) : NaN;
  if (!Number.isSafeInteger(v) || v < 1 || v > 0xffffffff) {
    ctx.engine.error(`Invalid ${process} real-time limit - ${word ?? ''}`);
    return undefined;
  }
  return Math.max(2, v);
}

/** keepalived startup_shutdown_script(): the parent runs it (core/main.c run_startup_script). */
function startStopScript(ctx: ParseContext, w: string[], at: SourceLocation, type: 'startup' | 'shutdown'): void {
  const g = ctx.config.global;
  if ((type === 'startup' ? g.startupScript : g.shutdownScript) !== undefined) return ctx.fail(`${type} script already specified`);
  if (w[1] === undefined) return ctx.fail(`${type} script missing`);
  const cmd = ctx.scriptCommand(w, at);
  if (cmd === undefined) return ctx.fail(`Invalid ${type} script`);
  if (type === 'startup') {
    g.startupScript = cmd;
    g.startupScriptTimeoutS ??= 10;
  } else {
    g.shutdownScript = cmd;
    g.shutdownScriptTimeoutS ??= 10;
  }
}

function startStopScriptTimeout(ctx: ParseContext, w: string[], type: 'startup' | 'shutdown'): void {
  if (w[1] === undefined) return ctx.fail(`${type}_script_timeout requires value`);
  const v = isDecimalInt(w[1]) ? Number(w[1]) : NaN;
  if (!(v >= 1 && v <= 1000)) return ctx.fail(`${type}_script_timeout '${w[1]}' must be in [1, 1000] - ignoring`);
  if (type === 'startup') ctx.config.global.startupScriptTimeoutS = v;
  else ctx.config.global.shutdownScriptTimeoutS = v;
}

function lvsFlushOnStop(ctx: ParseContext, w: string[]): void {
  const g = ctx.config.global;
  if (w[1] === undefined) g.lvsFlushOnStop = 'all';
  else if (w[1] === 'VS') g.lvsFlushOnStop = 'vs';
  else g.lvsFlushOnStop = readFlag(w, ctx.fail) ? 'all' : 'off';
}

function lvsSyncDaemon(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const ifname = w[1];
  if (ifname === undefined) return ctx.fail('lvs_sync_daemon requires an interface');
  const d: NonNullable<GlobalDefs['lvsSyncDaemon']> = { interface: ifname, port: 8848, location: at };
  let i = 2;
  if (w[i] !== undefined && !['id', 'maxlen', 'port', 'ttl', 'group'].includes(w[i]!)) {
    d.instance = w[i];
    i++;
  }
  for (; i < w.length; i += 2) {
    const key = w[i]!;
    const val = w[i + 1];
    if (key === 'inst' && val !== undefined) d.instance = val;
    else if (key === 'id') d.syncId = readUnsigned(val, 0, 255, ctx.fail);
    else if (key === 'maxlen') d.maxlen = readUnsigned(val, 1, 65535 - 20 - 8, ctx.fail);
    else if (key === 'port') d.port = readUnsigned(val, 1, 65535, ctx.fail) ?? 8848;
    else if (key === 'ttl') d.ttl = readUnsigned(val, 1, 255, ctx.fail);
    else if (key === 'group' && val !== undefined) d.group = val;
    else {
      ctx.fail(`Unknown option ${key} specified for lvs_sync_daemon`);
      i--;
    }
  }
  ctx.config.global.lvsSyncDaemon = d;
  ctx.interfaceMissing(ifname, `WARNING - interface ${ifname} for lvs_sync_daemon doesn't exist`, at);
}

function lvsTimeouts(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const t: NonNullable<GlobalDefs['lvsTimeouts']> = ctx.config.global.lvsTimeouts ?? { location: at };
  for (let i = 1; i < w.length; i += 2) {
    const key = w[i]!;
    const v = readUnsigned(w[i + 1], 0, 2147483647 / 100, ctx.fail);
    if (key === 'tcp') t.tcp = v;
    else if (key === 'tcpfin') t.tcpFin = v;
    else if (key === 'udp') t.udp = v;
    else ctx.fail(`Unknown option ${key} specified for lvs_timeouts`);
  }
  ctx.config.global.lvsTimeouts = t;
}
