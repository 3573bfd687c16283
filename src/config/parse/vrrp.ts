// vrrp_instance, its authentication block and vrrp_sync_group (keepalived vrrp_parser.c).

import type { NotifyScripts, SourceLocation, TrackFileRef, TrackInterface, TrackProcessRef, TrackScript, VirtualIpAddress, VrrpInstance } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { familyOf, readDouble, readFlag, readInt, readTimerMs, readUnsigned, TIMER_MAX_S } from '../values.js';
import { parseRouteLine, parseRuleLine } from '../routes.js';
import { type InstanceDraft, type ParseContext, table } from './context.js';
import { checkRouteInterfaces, parseVip, routeContext } from './addresses.js';

export function openInstance(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const name = w[1] ?? '';
  if (name === '') ctx.fail('vrrp_instance requires a name');
  if (ctx.instances.some((d) => d.vi.name === name)) ctx.fail(`vrrp instance ${name} already defined`);
  const g = ctx.config.global;
  const vi: VrrpInstance = {
    name,
    location: at,
    state: 'BACKUP',
    virtualRouterId: 0,
    priority: 100,
    advertIntervalMs: 1000,
    version: g.vrrpVersion,
    family: 'inet',
    nopreempt: false,
    preemptDelayMs: 0,
    virtualIpAddresses: [],
    virtualIpAddressesExcluded: [],
    virtualRoutes: [],
    virtualRules: [],
    unicastPeers: [],
    mcastGroup: g.vrrpMcastGroup4,
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    notify: {},
    smtpAlert: false,
    dontTrackPrimary: false,
    accept: true,
    skipCheckAdvAddr: false,
    notifyPriorityChanges: false,
    checkUnicastSrc: false,
    strictMode: false,
    lowerPrioNoAdvert: false,
    higherPrioSendAdvert: false,
    downTimerAdverts: 3,
    garpMasterDelayMs: 5000,
    garpMasterRepeat: 5,
    garpMasterRefreshMs: 0,
    garpMasterRefreshRepeat: 1,
    garpLowerPrioDelayMs: 5000,
    garpLowerPrioRepeat: 5,
  };
  ctx.inst = { vi, routerIdSet: false, preemptDelaySet: false, nopreemptSet: false };
  ctx.instances.push(ctx.inst);
}

export function instanceTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (d: InstanceDraft, w: string[], at: SourceLocation) => void): Keyword => ({
    handler: (w, at) => {
      if (ctx.inst) fn(ctx.inst, w, at);
    },
  });
  const flag = (fn: (d: InstanceDraft, v: boolean) => void): Keyword => on((d, w) => fn(d, readFlag(w, ctx.fail)));
  const routes = (kind: 'route' | 'rule'): Keyword =>
    on((d, w) =>
      ctx.engine.valueBlock(w, (e, at) => {
        checkRouteInterfaces(ctx, e, at);
        if (kind === 'route') {
          const r = parseRouteLine(e, at, routeContext(ctx));
          if (r) d.vi.virtualRoutes.push(r);
        } else {
          const r = parseRuleLine(e, at, routeContext(ctx));
          if (r) d.vi.virtualRules.push(r);
        }
      }),
    );
  const garpTimer = (fn: (d: InstanceDraft, ms: number) => void): Keyword =>
    on((d, w) => {
      const v = readTimerMs(w[1], 0, TIMER_MAX_S, ctx.fail);
      if (v !== undefined) fn(d, v);
    });
  const garpCount = (min: number, fn: (d: InstanceDraft, n: number) => void): Keyword =>
    on((d, w) => {
      const v = readUnsigned(w[1], min, 4294967295, ctx.fail);
      if (v !== undefined) fn(d, v);
    });
  const who = (): string => ctx.inst?.vi.name ?? '';
  const entries: Array<[string, Keyword]> = [
    [
      'state',
      on((d, w) => {
        d.vi.state = w[1] === 'MASTER' ? 'MASTER' : 'BACKUP';
        if (w[1] !== 'MASTER' && w[1] !== 'BACKUP') ctx.fail(`(${d.vi.name}) unknown state '${w[1] ?? ''}', defaulting to BACKUP`);
      }),
    ],
    [
      'interface',
      on((d, w, at) => {
        if (w[1] === undefined) return ctx.fail('interface requires a name');
        d.vi.interface = w[1];
        d.interfaceAt = at;
        ctx.interfaceMissing(w[1], `WARNING - interface ${w[1]} for vrrp_instance ${d.vi.name} doesn't exist`, at);
      }),
    ],
    [
      'virtual_router_id',
      on((d, w) => {
        const v = readUnsigned(w[1], 1, 255, ctx.fail);
        if (v === undefined) ctx.fail(`VRRP Error : VRID not valid - must be between 1 & 255. reconfigure !`);
        else d.vi.virtualRouterId = v;
      }),
    ],
    [
      'priority',
      on((d, w) => {
        const v = readUnsigned(w[1], 1, 255, ctx.fail);
        if (v === undefined) ctx.fail(`(${d.vi.name}) Priority not valid! must be between 1 & 255. Using default 100`);
        else d.priority = v;
      }),
    ],
    [
      'advert_int',
      on((d, w) => {
        const v = readDouble(w[1], 0.01, 255, ctx.fail);
        if (v === undefined) ctx.fail(`(${d.vi.name}) Advert interval (${w[1] ?? ''}) not valid! Must be between 0.01 and 255. Using default 1`);
        else d.advertIntS = v;
      }),
    ],
    [
      'version',
      on((d, w) => {
        const v = readUnsigned(w[1], 2, 3, ctx.fail);
        if (v === undefined) ctx.fail(`(${d.vi.name}): Version not valid! must be between 2 & 3`);
        else d.version = v as 2 | 3;
      }),
    ],
    ['nopreempt', on((d) => ((d.vi.nopreempt = true), (d.nopreemptSet = true)))],
    ['preempt', on((d) => (d.vi.nopreempt = false))],
    [
      'preempt_delay',
      on((d, w) => {
        const v = readTimerMs(w[1], 0, 1000, ctx.fail);
        if (v === undefined) ctx.fail(`(${d.vi.name}) Preempt_delay not valid! must be between 0-1000`);
        else {
          d.vi.preemptDelayMs = v;
          d.preemptDelaySet = true;
        }
      }),
    ],
    ['authentication', { sub: authTable(ctx) }],
    ['virtual_ipaddress', vipBlock(ctx, (vi) => vi.virtualIpAddresses)],
    ['virtual_ipaddress_excluded', vipBlock(ctx, (vi) => vi.virtualIpAddressesExcluded)],
    ['virtual_routes', routes('route')],
    ['virtual_rules', routes('rule')],
    [
      'mcast_src_ip',
      on((d, w) => {
        if (w[1] === undefined || familyOf(w[1]) === undefined) ctx.fail(`(${d.vi.name}) mcast_src_ip ${w[1] ?? ''} is invalid`);
        else d.vi.mcastSrcIp = w[1];
      }),
    ],
    [
      'unicast_src_ip',
      on((d, w) => {
        if (w[1] === undefined || familyOf(w[1]) === undefined) ctx.fail(`(${d.vi.name}) unicast_src_ip ${w[1] ?? ''} is invalid`);
        else d.vi.unicastSrcIp = w[1];
      }),
    ],
    [
      'unicast_peer',
      on((d, w) =>
        ctx.engine.valueBlock(w, (e, at) => {
          if (familyOf(e[0]!) === undefined) {
            ctx.engine.error(`(${d.vi.name}) unicast_peer ${e[0]} is invalid - ignoring`, undefined, at);
            return;
          }
          const peer: VrrpInstance['unicastPeers'][number] = { address: e[0]!, location: at };
          for (let i = 1; i < e.length; i += 2) {
            if (e[i] === 'min_ttl') peer.minTtl = readUnsigned(e[i + 1], 0, 255, ctx.fail);
            else if (e[i] === 'max_ttl') peer.maxTtl = readUnsigned(e[i + 1], 0, 255, ctx.fail);
            else {
              ctx.engine.error(`(${d.vi.name}) unknown unicast_peer option ${e[i]}`, undefined, at);
              i--;
            }
          }
          d.vi.unicastPeers.push(peer);
        }),
      ),
    ],
    ['unicast_ttl', on((d, w) => (d.vi.unicastTtl = readUnsigned(w[1], 1, 255, ctx.fail) ?? d.vi.unicastTtl))],
    ['track_interface', trackInterfaceBlock(ctx, () => ctx.inst?.vi.trackInterfaces, who)],
    ['track_script', trackScriptBlock(ctx, () => ctx.inst?.vi.trackScripts, who)],
    ['smtp_alert', flag((d, v) => (d.smtpAlert = v))],
    ['dont_track_primary', on((d) => (d.vi.dontTrackPrimary = true))],
    ['accept', on((d) => (d.accept = true))],
    ['no_accept', on((d) => (d.accept = false))],
    ['skip_check_adv_addr', flag((d, v) => (d.skipCheckAdvAddr = v))],
    ['notify_priority_changes', flag((d, v) => (d.notifyPriorityChanges = v))],
    ['check_unicast_src', on((d) => (d.checkUnicastSrc = true))],
    ['strict_mode', flag((d, v) => (d.strictMode = v))],
    ['lower_prio_no_advert', flag((d, v) => (d.lowerPrioNoAdvert = v))],
    ['higher_prio_send_advert', flag((d, v) => (d.higherPrioSendAdvert = v))],
    ['down_timer_adverts', on((d, w) => (d.downTimerAdverts = readUnsigned(w[1], 1, 100, ctx.fail) ?? d.downTimerAdverts))],
    ['garp_master_delay', garpTimer((d, v) => (d.garpMasterDelayMs = v))],
    ['garp_master_repeat', garpCount(0, (d, v) => (d.garpMasterRepeat = v))],
    ['garp_master_refresh', garpTimer((d, v) => (d.garpMasterRefreshMs = v))],
    ['garp_master_refresh_repeat', garpCount(1, (d, v) => (d.garpMasterRefreshRepeat = v))],
    ['garp_lower_prio_delay', garpTimer((d, v) => (d.garpLowerPrioDelayMs = v))],
    ['garp_lower_prio_repeat', garpCount(0, (d, v) => (d.garpLowerPrioRepeat = v))],
    ['use_vmac', on((d, w) => useVmac(ctx, d, w))],
    ['vmac_xmit_base', on((d) => (d.vmacXmitBase = true))],
    ['use_vmac_addr', on((d) => (d.vi.useVmacAddr = true))],
    [
      'native_ipv6',
      on((d) => {
        // keepalived vrrp_native_ipv6_handler: the family is fixed by the first address read so far.
        if (d.vi.virtualIpAddresses[0]?.family === 'inet') ctx.engine.error(`(${d.vi.name}) Cannot specify native_ipv6 with IPv4 addresses`);
        else d.nativeIpv6 = true;
      }),
    ],
    [
      'mcast_dst_ip',
      ctx.reported('adverts go to the vrrp_mcast_group4/6 address', on((d, w, at) => {
        const a = w[1];
        const fam = a === undefined ? undefined : familyOf(a);
        if (a === undefined || fam === undefined) return ctx.engine.error(`(${d.vi.name}) malformed mcast dest address ${a ?? ''}. Skipping...`, undefined, at);
        ctx.engine.error(`(${d.vi.name}) mcast_dst_ip is not supported: adverts go to the vrrp_mcast_group${fam === 'inet6' ? 6 : 4} address, not ${a}`, 'mcast_dst_ip', at, 'unsupported');
      })),
    ],
    [
      'vrf',
      ctx.reported('VRRP sockets are not bound to the VRF', on((d, w, at) => {
        if (w[1] === undefined) return ctx.engine.error(`(${d.vi.name}) vrf requires an interface name`, undefined, at);
        if (d.vi.interface !== undefined) return ctx.fail(`(${d.vi.name}) Cannot specify VRF interface and interface - ignoring`);
        ctx.engine.error(`(${d.vi.name}) vrf is not supported: VRRP sockets are not bound to VRF ${w[1]}`, 'vrf', at, 'unsupported');
      })),
    ],
    [
      'lvs_sync_daemon_interface',
      on((d, w, at) => {
        ctx.engine.error(`(${d.vi.name}) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.`, undefined, at);
        ctx.engine.error(`      ${' '.repeat(Math.max(0, d.vi.name.length - 2))}Please use global lvs_sync_daemon`, undefined, at);
        // keepalived vrrp_lvs_syncd_handler: still honoured, as the global sync daemon following this instance.
        const g = ctx.config.global;
        if (g.lvsSyncDaemon !== undefined) {
          ctx.engine.error(`(${d.vi.name}) lvs_sync_daemon_interface has already been specified as ${g.lvsSyncDaemon.interface} - ignoring`, undefined, at);
        } else if (w[1] !== undefined) g.lvsSyncDaemon = { interface: w[1], port: 8848, instance: d.vi.name, location: at };
      }),
    ],
    ...notifyKeywords(ctx, () => ctx.inst?.vi.notify),
  ];
  // Keywords keepalived 2.2.7 accepts in vrrp_instance that lvskeeper does not act on.
  const noGarpExtra = "no periodic gratuitous ARPs on the VMAC's base interface: only the VIPs' interfaces get them";
  entries.push(
    ['vmac_garp_intvl', ctx.warns(noGarpExtra)],
    ['use_ipvlan', ctx.warns('lvskeeper creates no ipvlan interfaces: the instance uses its interface itself')],
    ['unicast_fault_no_peer', ctx.warns('an instance with unicast and no peer is not held in FAULT')],
    ['track_file', ctx.warnsValueBlock('the priority does not follow the file (FILE_CHECK does)')],
    ['track_process', ctx.warnsValueBlock('the priority does not follow the processes')],
    ['track_bfd', ctx.warnsValueBlock('lvskeeper has no BFD: the instance never sees it fail')],
    ['track_src_ip', ctx.warns('the source address is not tracked: losing it does not put the instance in FAULT')],
    [
      'old_unicast_checksum',
      on((d, w) => {
        // keepalived vrrp_unicast_chksum_handler
        if (w[1] === undefined) d.vi.unicastChecksum = 'old';
        else if (w[1] === 'never') d.vi.unicastChecksum = 'never';
        else ctx.engine.error(`(${d.vi.name}) Unknown old_unicast_chksum mode ${w[1]} - ignoring`);
      }),
    ],
    ['promote_secondaries', on((d) => (d.vi.promoteSecondaries = true))],
    ['linkbeat_use_polling', ctx.warns('interface state comes from netlink link notifications')],
    ['debug', ctx.warns('use -D for debug logging')],
    ['garp_extra_if', ctx.warns('gratuitous ARPs are sent on the VIPs\' interfaces only')],
    ['kernel_rx_buf_size', ctx.warns('the VRRP socket keeps the kernel\'s receive buffer size')],
  );
  entries.push(
    ['track_file', trackedObjectRefBlock(ctx, 'file', () => ctx.config.trackFiles, () => ctx.inst?.vi.trackFiles, who)],
    ['track_process', trackedObjectRefBlock(ctx, 'process', () => ctx.config.vrrpTrackProcesses, () => ctx.inst?.vi.trackProcesses, who)],
  );
  return table(entries);
}

function authTable(ctx: ParseContext): KeywordTable {
  return table([
    [
      'auth_type',
      {
        handler: (w, at) => {
          const d = ctx.inst;
          if (!d) return;
          const t = w[1];
          if (t !== 'PASS' && t !== 'AH') {
            ctx.fail(`(${d.vi.name}) unknown authentication type '${t ?? ''}'`);
            return;
          }
          d.vi.authentication = { type: t, password: d.vi.authentication?.password ?? '', location: d.vi.authentication?.location ?? at };
        },
      },
    ],
    [
      'auth_pass',
      {
        handler: (w, at) => {
          const d = ctx.inst;
          if (!d) return;
          let pass = w[1] ?? '';
          // The password is 8 bytes on the wire; keepalived truncates (never echo it).
          if (Buffer.byteLength(pass) > 8) {
            ctx.fail('Truncating auth_pass to 8 characters');
            pass = Buffer.from(pass).subarray(0, 8).toString('latin1');
          }
          d.vi.authentication = { type: d.vi.authentication?.type ?? 'PASS', password: pass, location: at };
        },
      },
    ],
  ]);
}

// vrrp_sync_group

export function openSync(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const name = w[1] ?? '';
  ctx.sync = {
    name,
    location: at,
    members: [],
    trackInterfaces: [],
    trackScripts: [],
    trackFiles: [],
    trackProcesses: [],
    notify: {},
    smtpAlert: false,
    syncGroupTrackingWeight: false,
  };
  ctx.config.vrrpSyncGroups.push(ctx.sync);
}

export function syncTable(ctx: ParseContext): KeywordTable {
  const who = (): string => ctx.sync?.name ?? '';
  return table([
    ['group', { handler: (w) => ctx.engine.valueBlock(w, (e) => ctx.sync?.members.push(...e)) }],
    ['track_interface', trackInterfaceBlock(ctx, () => ctx.sync?.trackInterfaces, who)],
    ['track_script', trackScriptBlock(ctx, () => ctx.sync?.trackScripts, who)],
    ['track_file', trackedObjectRefBlock(ctx, 'file', () => ctx.config.trackFiles, () => ctx.sync?.trackFiles, who)],
    ['track_process', trackedObjectRefBlock(ctx, 'process', () => ctx.config.vrrpTrackProcesses, () => ctx.sync?.trackProcesses, who)],
    ['track_bfd', ctx.warnsValueBlock('lvskeeper has no BFD: the sync group never sees it fail')],
    ['smtp_alert', { handler: (w) => ctx.sync && (ctx.syncSmtpAlertSet.add(ctx.sync), (ctx.sync.smtpAlert = readFlag(w, ctx.fail))) }],
    [
      'global_tracking',
      {
        // keepalived 2.2.7: deprecated, and the same as sync_group_tracking_weight.
        handler: (_w, at) => {
          ctx.engine.warn(`(${who()}) global_tracking is deprecated. Use track_interface/script/file on the sync group`, undefined, at);
          if (ctx.sync) ctx.sync.syncGroupTrackingWeight = true;
        },
      },
    ],
    ['sync_group_tracking_weight', { handler: () => ctx.sync && (ctx.sync.syncGroupTrackingWeight = true) }],
    ['notify_priority_changes', ctx.warns('the sync group writes no priority lines to the notify FIFO; its instances do when they set it')],
    ...notifyKeywords(ctx, () => ctx.sync?.notify),
  ]);
}

// Blocks an instance and a sync group share

function notifyKeywords(ctx: ParseContext, target: () => NotifyScripts | undefined): Array<[string, Keyword]> {
  const set = (key: keyof NotifyScripts): Keyword => ({
    handler: (w, at) => {
      const n = target();
      const cmd = ctx.scriptCommand(w, at);
      if (n && cmd) n[key] = cmd;
    },
  });
  return [
    ['notify_master', set('master')],
    ['notify_backup', set('backup')],
    ['notify_fault', set('fault')],
    ['notify_stop', set('stop')],
    ['notify', set('generic')],
    ['notify_master_rx_lower_pri', set('masterRxLowerPri')],
    ['notify_deleted', set('deleted')],
  ];
}

function trackInterfaceBlock(ctx: ParseContext, into: () => TrackInterface[] | undefined, who: () => string): Keyword {
  return {
    handler: (w) =>
      ctx.engine.valueBlock(w, (e, at) => {
        const list = into();
        const name = e[0]!;
        const t: TrackInterface = { name, weight: 0, reverse: false, location: at };
        for (let i = 1; i < e.length; i++) {
          if (e[i] === 'weight') {
            const v = readInt(e[i + 1], -253, 253, ctx.fail);
            if (v !== undefined) t.weight = v;
            i++;
          } else if (e[i] === 'reverse') t.reverse = true;
          else if (e[i] === 'noreverse') t.reverse = false;
          else ctx.engine.error(`(${who()}) unknown option '${e[i]}' for track_interface ${name}`, undefined, at);
        }
        list?.push(t);
        ctx.interfaceMissing(name, `(${who()}) tracked interface ${name} doesn't exist`, at);
      }),
  };
}

function trackScriptBlock(ctx: ParseContext, into: () => TrackScript[] | undefined, who: () => string): Keyword {
  return {
    handler: (w) =>
      ctx.engine.valueBlock(w, (e, at) => {
        const t: TrackScript = { name: e[0]!, reverse: false, location: at };
        for (let i = 1; i < e.length; i++) {
          if (e[i] === 'weight') {
            const v = readInt(e[i + 1], -253, 253, ctx.fail);
            if (v !== undefined) t.weight = v;
            i++;
          } else if (e[i] === 'reverse') t.reverse = true;
          else if (e[i] === 'noreverse') t.reverse = false;
          else ctx.engine.error(`(${who()}) track script ${t.name} unknown option '${e[i]}'`, undefined, at);
        }
        into()?.push(t);
      }),
  };
}

/**
 * `track_file { NAME [weight W [reverse|noreverse]] }` and `track_process { … }` in an instance or sync
 * group, resolved now against the blocks above (keepalived vrrp_alloc_track_file / alloc_track_process,
 * with their messages: an unknown option after the weight drops a track_file line, not a track_process one).
 */
function trackedObjectRefBlock<R extends TrackFileRef | TrackProcessRef>(
  ctx: ParseContext,
  kind: 'file' | 'process',
  definitions: () => readonly { name: string; weight: number; weightReverse: boolean }[] | undefined,
  into: () => R[] | undefined,
  who: () => string,
): Keyword {
  const keyword = `track_${kind}`;
  return {
    handler: (w) =>
      ctx.engine.valueBlock(w, (e, at) => {
        const name = e[0]!;
        const list = into();
        const say = (m: string): void => ctx.engine.error(`(${who()}) ${m}`, undefined, at);
        const def = definitions()?.find((t) => t.name === name);
        if (def === undefined) return say(`track ${kind} ${name} not found, ignoring...`);
        if (list?.some((t) => t.name === name)) return say(`duplicate ${keyword} ${name} - ignoring`);
        const ref = { name, weight: def.weight, reverse: def.weightReverse, location: at } as R;
        if (e.length >= 2) {
          if (e[1] !== 'weight') return say(`unknown track ${kind} option ${e[1]} - ignoring`);
          if (e.length === 2) return say(`weight without value specified for track ${kind} ${name} - ignoring`);
          const v = readInt(e[2], -254, 254, () => undefined);
          if (v === undefined) say(`weight for track ${kind} ${name} must be in [-254..254] inclusive. Ignoring...`);
          else ref.weight = v;
          if (e.length >= 4) {
            if (e[3] === 'reverse') ref.reverse = true;
            else if (e[3] === 'noreverse') ref.reverse = false;
            else if (kind === 'file') return say(`unknown track file ${name} weight option ${e[3]} - ignoring`);
            else say(`unknown track_process ${name} weight option ${e[3]} - ignoring`);
          }
        }
        list?.push(ref);
      }),
  };
}

function vipBlock(ctx: ParseContext, pick: (vi: VrrpInstance) => VirtualIpAddress[]): Keyword {
  return {
    handler: (w) =>
      ctx.engine.valueBlock(w, (e, at) => {
        const vip = parseVip(ctx, e, at);
        if (vip && ctx.inst) pick(ctx.inst.vi).push(vip);
      }),
  };
}

/** An interface name the kernel accepts (dev_valid_name): 1..15 bytes, no '/', ':' or white space, not . or .. */
function devNameValid(name: string): boolean {
  return name.length > 0 && Buffer.byteLength(name) <= 15 && name !== '.' && name !== '..' && !/[/:\s]/.test(name);
}

/**
 * `use_vmac [NAME] [MAC]` (keepalived vrrp_vmac_handler): up to two words in any order, the one with a
 * ':' is the MAC, 6 octets or 5 (the VRID is then the sixth).
 */
function useVmac(ctx: ParseContext, d: InstanceDraft, w: string[]): void {
  const err = (m: string): void => ctx.engine.error(m);
  const v = d.vi.useVmac ?? {};
  for (const word of w.slice(1, 3)) {
    if (word.includes(':')) {
      if (v.mac !== undefined) {
        err('VMAC interface address already specified');
        continue;
      }
      if (!/^[0-9A-Fa-f:]+$/.test(word)) {
        err(`VMAC invalid MAC address ${word}`);
        continue;
      }
      const octets = word.replace(/:$/, '').split(':');
      if ((octets.length !== 5 && octets.length !== 6) || octets.some((o) => o.length === 0 || o.length > 2)) {
        err(`VMAC invalid MAC address ${word} - ignored`);
        continue;
      }
      const bytes = octets.map((o) => parseInt(o, 16));
      if ((bytes[0]! & 0x01) !== 0) err(`VMAC MAC address is multicast ${word} - ignoring`);
      else if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x5e && bytes[3] === 0 && (bytes[4] === 1 || bytes[4] === 2)) {
        err(`VMAC MAC address not allowed to be RFC5798 address (${word}) - ignoring`);
      } else v.mac = bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
    } else if (v.name !== undefined) err('VMAC interface name already specified');
    else if (!devNameValid(word)) err(`VMAC interface name '${word}' too long or invalid characters - ignoring`);
    else {
      const other = ctx.instances.find((o) => o !== d && o.vi.useVmac?.name === word);
      if (other) err(`(${d.vi.name}) VRRP instance ${other.vi.name} is already using ${word} - ignoring name`);
      else v.name = word;
    }
  }
  d.vi.useVmac = v;
}
