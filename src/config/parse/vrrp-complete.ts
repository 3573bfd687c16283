// After the file is read: vrrp_complete_instance() (keepalived vrrp.c), sync groups.

import type { VrrpInstance } from '../model.js';
import type { ParseContext } from './context.js';

export function completeVrrp(ctx: ParseContext): void {
  const g = ctx.config.global;
  const scripts = new Map(ctx.config.vrrpScripts.map((s) => [s.name, s]));
  const out: VrrpInstance[] = [];
  for (const d of ctx.instances) {
    const vi = d.vi;
    const at = vi.location;
    const err = (m: string): void => ctx.engine.error(m, undefined, at);
    const warn = (m: string): void => ctx.engine.warn(m, undefined, at);
    if (vi.virtualRouterId === 0) {
      err(`(${vi.name}) the virtual router id must be set`);
      continue;
    }
    const v6 = d.nativeIpv6 === true || vi.virtualIpAddresses[0]?.family === 'inet6';
    vi.family = v6 ? 'inet6' : 'inet';
    for (const vip of vi.virtualIpAddresses) {
      if (vip.family !== vi.family) {
        ctx.engine.error(`(${vi.name}) address family must match VRRP instance - ignoring ${vip.address}`, undefined, vip.location);
      }
    }
    vi.virtualIpAddresses = vi.virtualIpAddresses.filter((v) => v.family === vi.family);
    vi.version = d.version ?? (v6 ? 3 : g.vrrpVersion);
    if (v6 && vi.version === 2) {
      warn(`(${vi.name}) cannot use IPv6 with VRRP version 2; setting version 3`);
      vi.version = 3;
    }
    vi.mcastGroup = v6 ? g.vrrpMcastGroup6 : g.vrrpMcastGroup4;
    vi.strictMode = d.strictMode ?? g.vrrpStrict;
    vi.skipCheckAdvAddr = d.skipCheckAdvAddr ?? g.vrrpSkipCheckAdvAddr;
    vi.notifyPriorityChanges = d.notifyPriorityChanges ?? g.vrrpNotifyPriorityChanges;
    // keepalived vrrp.c: unset → smtp_alert_vrrp, else smtp_alert, else off.
    vi.smtpAlert = d.smtpAlert ?? g.smtpAlertVrrp ?? g.smtpAlert ?? false;
    vi.checkUnicastSrc = d.checkUnicastSrc ?? g.vrrpCheckUnicastSrc;
    vi.lowerPrioNoAdvert = d.lowerPrioNoAdvert ?? g.vrrpLowerPrioNoAdvert;
    vi.higherPrioSendAdvert = d.higherPrioSendAdvert ?? g.vrrpHigherPrioSendAdvert;
    vi.downTimerAdverts = d.downTimerAdverts ?? g.vrrpDownTimerAdverts;
    vi.garpMasterDelayMs = d.garpMasterDelayMs ?? g.vrrpGarpMasterDelayMs;
    vi.garpMasterRepeat = d.garpMasterRepeat ?? g.vrrpGarpMasterRepeat;
    vi.garpMasterRefreshMs = d.garpMasterRefreshMs ?? g.vrrpGarpMasterRefreshMs;
    vi.garpMasterRefreshRepeat = d.garpMasterRefreshRepeat ?? g.vrrpGarpMasterRefreshRepeat;
    vi.garpLowerPrioDelayMs =
      d.garpLowerPrioDelayMs ?? (ctx.globalSet.has('vrrp_garp_lower_prio_delay') ? g.vrrpGarpLowerPrioDelayMs : vi.garpMasterDelayMs);
    vi.garpLowerPrioRepeat =
      d.garpLowerPrioRepeat ?? (ctx.globalSet.has('vrrp_garp_lower_prio_repeat') ? g.vrrpGarpLowerPrioRepeat : vi.garpMasterRepeat);

    // Priority: 255 for an address owner declared MASTER without a priority.
    vi.priority = d.priority ?? (vi.state === 'MASTER' ? 255 : 100);

    // keepalived chk_min_cfg / vrrp_complete_instance: an instance needs an interface, unless it is unicast
    // with unicast_src_ip (default_interface serves static addresses only).
    if (vi.interface === undefined) {
      if (vi.unicastPeers.length === 0) {
        err(`(${vi.name}) Unknown interface!`);
        continue;
      }
      if (vi.unicastSrcIp === undefined) {
        err(`(${vi.name}): Unicast instances must have unicast_src_ip or interface`);
        continue;
      }
      ctx.engine.error(`(${vi.name}) a unicast instance without interface is not supported by lvskeeper yet - not running it: name its interface`, 'interface', at);
      continue;
    }

    if (vi.strictMode) {
      if (vi.state === 'MASTER' && vi.priority !== 255) {
        err(`(${vi.name}) State MASTER must match being address owner`);
        vi.state = 'BACKUP';
      }
      if (vi.authentication) {
        err(`(${vi.name}) Strict mode does not support authentication. Ignoring.`);
        vi.authentication = undefined;
      }
      if (vi.unicastPeers.length > 0) {
        err(`(${vi.name}) Strict mode does not support unicast peers - ignoring`);
        vi.unicastPeers = [];
      }
      if (vi.virtualIpAddresses.length === 0) err(`(${vi.name}) Strict mode requires at least one VIP`);
      if (d.preemptDelaySet && vi.preemptDelayMs > 0) {
        err(`(${vi.name}) Strict mode does not support preempt_delay - clearing`);
        vi.preemptDelayMs = 0;
      }
      vi.garpMasterRepeat = Math.min(vi.garpMasterRepeat, 1);
      vi.lowerPrioNoAdvert = true;
    }

    if (vi.authentication) {
      if (vi.version === 3) {
        err(`(${vi.name}) VRRP version 3 does not support authentication. Ignoring.`);
        vi.authentication = undefined;
      } else if (vi.authentication.password.length === 0) {
        err(`(${vi.name}) no authentication password specified - ignoring authentication`);
        vi.authentication = undefined;
      }
    }
    if (d.vmacXmitBase) {
      if (vi.useVmac) vi.useVmac.xmitBase = true;
      else err(`(${vi.name}) vmac_xmit_base is only valid with a vmac`);
    }
    if (vi.authentication?.type === 'AH' && vi.family === 'inet6') {
      err(`(${vi.name}) Cannot use AH authentication with IPv6. ignoring`);
      vi.authentication = undefined;
    }
    if (vi.authentication?.type === 'AH' && vi.state === 'MASTER' && vi.priority !== 255) {
      err(`(${vi.name}) Initial state master is incompatible with AH authentication - clearing`);
      vi.state = 'BACKUP';
    }

    if (vi.state === 'MASTER') {
      if (vi.nopreempt) {
        err(`(${vi.name}) Warning - nopreempt will not work with initial state MASTER - clearing`);
        vi.nopreempt = false;
      }
      if (vi.preemptDelayMs > 0) {
        err(`(${vi.name}) Warning - preempt delay will not work with initial state MASTER - clearing`);
        vi.preemptDelayMs = 0;
      }
    }
    if (vi.nopreempt && vi.priority === 255) {
      err(`(${vi.name}) nopreempt is incompatible with priority 255 - resetting`);
      vi.nopreempt = false;
    }

    // accept: default on unless strict; v2 + strict + accept is reset as 2.2.7 does.
    if (d.accept !== undefined) {
      vi.accept = d.accept;
      if (d.accept && vi.strictMode && vi.version === 2) {
        err(`(${vi.name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting`);
        vi.accept = false;
      }
    } else vi.accept = !vi.strictMode;
    if (vi.priority === 255) vi.accept = true;

    // advert_int: v2 whole seconds (rounded with a warning), v3 centiseconds.
    const adv = d.advertIntS ?? 1;
    if (vi.version === 2) {
      let secs = adv;
      if (!Number.isInteger(adv)) {
        err(`(${vi.name}) VRRPv2 advertisement interval ${adv.toFixed(6)}s must be an integer. rounding`);
        secs = Math.max(1, Math.round(adv));
      }
      vi.advertIntervalMs = secs * 1000;
    } else {
      let cs = Math.round(adv * 100);
      if (cs > 4095) {
        err(`(${vi.name}) VRRPv3 advertisement interval ${adv.toFixed(2)}s is too large - setting to 40.95s`);
        cs = 4095;
      }
      vi.advertIntervalMs = Math.max(1, cs) * 10;
    }

    // Track scripts must exist.
    vi.trackScripts = vi.trackScripts.filter((t) => {
      const script = scripts.get(t.name);
      if (script === undefined) {
        ctx.engine.error(`(${vi.name}) track script ${t.name} not found, ignoring...`, undefined, t.location);
        return false;
      }
      // Resolved: the vrrp_script's weight (and reverse) unless the instance overrides them.
      if (t.weight === undefined) {
        t.weight = script.weight;
        t.reverse = t.reverse !== script.weightReverse;
      }
      return true;
    });

    out.push(vi);
  }

  // Duplicate VRID: same family and interface.
  const seen = new Map<string, VrrpInstance>();
  for (const vi of out) {
    const key = `${vi.virtualRouterId}/${vi.family}/${vi.interface ?? ''}/${vi.unicastSrcIp ?? ''}`;
    const other = seen.get(key);
    if (other) {
      ctx.engine.error(
        `${other.name} and ${vi.name} both use VRID ${vi.virtualRouterId} with ${vi.family === 'inet' ? 'IPv4' : 'IPv6'} on interface ${vi.interface ?? '(none)'}`,
        undefined,
        vi.location,
      );
    } else seen.set(key, vi);
  }

  // Sync groups: members must exist; each instance in one group at most.
  const byName = new Map(out.map((vi) => [vi.name, vi]));
  for (const sg of ctx.config.vrrpSyncGroups) {
    sg.members = sg.members.filter((m) => {
      const vi = byName.get(m);
      if (vi === undefined) {
        ctx.engine.error(`Virtual router ${m} specified in sync group ${sg.name} doesn't exist - ignoring`, undefined, sg.location);
        return false;
      }
      if (vi.syncGroup !== undefined) {
        ctx.engine.error(`VRRP instance ${m} cannot be in more than one sync group - ignoring ${sg.name}`, undefined, sg.location);
        return false;
      }
      vi.syncGroup = sg.name;
      return true;
    });
    sg.trackScripts = sg.trackScripts.filter((t) => {
      const script = scripts.get(t.name);
      if (script === undefined) {
        ctx.engine.error(`(${sg.name}) track script ${t.name} not found, ignoring...`, undefined, t.location);
        return false;
      }
      if (t.weight === undefined) {
        t.weight = script.weight;
        t.reverse = t.reverse !== script.weightReverse;
      }
      return true;
    });
    if (sg.members.length === 0) ctx.engine.error(`Sync group ${sg.name} has no virtual router(s) - removing`, undefined, sg.location);
    // keepalived vrrp.c: unset → smtp_alert_vrrp, else smtp_alert, else off.
    if (!ctx.syncSmtpAlertSet.has(sg)) sg.smtpAlert = g.smtpAlertVrrp ?? g.smtpAlert ?? false;
  }
  ctx.config.vrrpSyncGroups = ctx.config.vrrpSyncGroups.filter((sg) => sg.members.length > 0);
  ctx.config.vrrpInstances = out;
}
