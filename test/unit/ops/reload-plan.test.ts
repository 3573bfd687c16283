import { describe, expect, it } from 'vitest';
import type { Config, RealServer, VirtualIpAddress, VirtualServer, VrrpInstance, VrrpScript } from '../../../src/config/model.js';
import { describePlan, instanceIdentity, planReload } from '../../../src/daemon/reload/plan.js';

// Small builders over the typed model, independent of the parser. `line` lets tests move blocks
// around the file: positions must never count as changes.
const loc = (line = 1) => ({ file: '/etc/keepalived/keepalived.conf', line });

function vip(address: string, prefixLength = 32, line = 1): VirtualIpAddress {
  return { address, family: address.includes(':') ? 'inet6' : 'inet', prefixLength, noTrack: false, location: loc(line) };
}

function inst(name: string, o: Partial<VrrpInstance> = {}): VrrpInstance {
  return {
    name, location: loc(), state: 'BACKUP', interface: 'eth0', virtualRouterId: 51, priority: 100, advertIntervalMs: 1000,
    version: 2, family: 'inet', nopreempt: false, preemptDelayMs: 0, virtualIpAddresses: [vip('10.0.0.100')],
    virtualIpAddressesExcluded: [], virtualRoutes: [], virtualRules: [], unicastPeers: [], mcastGroup: '224.0.0.18',
    trackInterfaces: [], trackScripts: [], notify: {}, smtpAlert: false, dontTrackPrimary: false, accept: true,
    skipCheckAdvAddr: false, checkUnicastSrc: false, strictMode: false, lowerPrioNoAdvert: false, higherPrioSendAdvert: false,
    downTimerAdverts: 3, garpMasterDelayMs: 5000, garpMasterRepeat: 5, garpMasterRefreshMs: 0, garpMasterRefreshRepeat: 1,
    garpLowerPrioDelayMs: 5000, garpLowerPrioRepeat: 5, notifyPriorityChanges: false,
    ...o,
  };
}

function script(name: string, o: Partial<VrrpScript> = {}): VrrpScript {
  return { name, location: loc(), script: '/usr/local/bin/check', intervalMs: 1000, timeoutMs: 1000, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false, ...o };
}

function rs(address: string, port = 80, o: Partial<RealServer> = {}): RealServer {
  return {
    location: loc(), address, family: 'inet', port, weight: 1, forwardMethod: 'masq', inhibitOnFailure: false, upperThreshold: 0,
    lowerThreshold: 0, alpha: false, smtpAlert: false, delayLoopMs: 6000, warmupMs: 0,
    checkers: [{ kind: 'TCP_CHECK', location: loc(), connectTimeoutMs: 5000, retry: 1, delayBeforeRetryMs: 1000, warmupMs: 0, delayLoopMs: 6000, alpha: false, logAllFailures: false }],
    ...o,
  };
}

function vs(address: string, port: number, realServers: RealServer[], o: Partial<VirtualServer> = {}): VirtualServer {
  return {
    location: loc(), key: { kind: 'address', family: 'inet', address, port }, protocol: 'tcp', delayLoopMs: 6000, scheduler: 'wlc',
    forwardMethod: 'masq', ops: false, schedFlag1: false, schedFlag2: false, schedFlag3: false, quorum: 1, hysteresis: 0, alpha: false,
    omega: false, haSuspend: false, inhibitOnFailure: false, connectTimeoutMs: 5000, warmupMs: 0, realServers, ...o,
  };
}

function cfg(o: Partial<Config> = {}): Config {
  return {
    file: '/etc/keepalived/keepalived.conf',
    global: {
      location: loc(), routerId: 'lb01', notificationEmail: [], smtpConnectTimeoutMs: 30000, smtpAlert: undefined, smtpAlertVrrp: undefined,
      smtpAlertChecker: undefined, checkerLogAllFailures: false, vrrpMcastGroup4: '224.0.0.18', vrrpMcastGroup6: 'ff02::12', vrrpVersion: 2,
      vrrpGarpMasterDelayMs: 5000, vrrpGarpMasterRepeat: 5, vrrpGarpMasterRefreshMs: 0, vrrpGarpMasterRefreshRepeat: 1,
      vrrpGarpLowerPrioDelayMs: 5000, vrrpGarpLowerPrioRepeat: 5, vrrpGarpIntervalMs: 0, vrrpGnaIntervalMs: 0, vrrpMinGarp: false,
      vrrpStrict: false, vrrpSkipCheckAdvAddr: false, vrrpCheckUnicastSrc: false, vrrpLowerPrioNoAdvert: false,
      vrrpHigherPrioSendAdvert: false, vrrpDownTimerAdverts: 3, vrrpStartupDelayMs: 0, dynamicInterfaces: false,
      enableScriptSecurity: false, lvsFlush: false, lvsFlushOnStop: 'off', lvsProgramOnAllNodes: false, vrrpNotifyPriorityChanges: false,
    },
    vrrpScripts: [], trackFiles: [], vrrpInstances: [], vrrpSyncGroups: [], virtualServerGroups: [], virtualServers: [],
    staticIpAddresses: [], staticRoutes: [], staticRules: [], scriptCount: 0,
    ...o,
  };
}

describe('planReload: VRRP instances', () => {
  it('the same configuration (blocks moved around the file) is an empty plan', () => {
    const a = cfg({ vrrpInstances: [inst('VI_1'), inst('VI_2', { virtualRouterId: 52, virtualIpAddresses: [vip('10.0.0.2', 32, 9)] })] });
    const b = cfg({
      vrrpInstances: [
        inst('VI_2', { location: loc(40), virtualRouterId: 52, virtualIpAddresses: [vip('10.0.0.2', 32, 44)] }),
        inst('VI_1', { location: loc(70) }),
      ],
    });
    const plan = planReload(a, b);
    expect(plan.empty).toBe(true);
    expect(plan.vrrpInstances.kept.map((k) => [k.new.name, k.changed])).toEqual([['VI_2', false], ['VI_1', false]]);
    expect(describePlan(plan)).toEqual([]);
  });

  it('a renamed instance with the same VRID/family/interface is kept (state kept), not removed + added', () => {
    const plan = planReload(cfg({ vrrpInstances: [inst('VI_1')] }), cfg({ vrrpInstances: [inst('VI_WEB')] }));
    expect(plan.vrrpInstances.added).toEqual([]);
    expect(plan.vrrpInstances.removed).toEqual([]);
    const [k] = plan.vrrpInstances.kept;
    expect(k!.changes.renamed).toEqual({ from: 'VI_1', to: 'VI_WEB' });
    expect(k!.changed).toBe(true);
    expect(k!.changes.otherFields).toEqual([]);
    expect(describePlan(plan)).toEqual(['(VI_WEB) renamed from VI_1']);
  });

  it('identity is VRID + family + interface + transport: changing any of them is remove + add', () => {
    const base = inst('VI_1');
    for (const changed of [
      inst('VI_1', { virtualRouterId: 52 }),
      inst('VI_1', { interface: 'eth1' }),
      inst('VI_1', { family: 'inet6', virtualIpAddresses: [vip('fd00::100', 128)], mcastGroup: 'ff02::12', version: 3 }),
      inst('VI_1', { mcastGroup: '224.0.0.19' }),
      inst('VI_1', { unicastSrcIp: '192.0.2.1', unicastPeers: [{ address: '192.0.2.2', location: loc() }] }),
    ]) {
      const plan = planReload(cfg({ vrrpInstances: [base] }), cfg({ vrrpInstances: [changed] }));
      expect(plan.vrrpInstances.kept).toEqual([]);
      expect(plan.vrrpInstances.added.map((i) => i.name)).toEqual(['VI_1']);
      expect(plan.vrrpInstances.removed.map((i) => i.name)).toEqual(['VI_1']);
    }
    // a unicast instance keeps its identity when only its peers change
    const u1 = inst('VI_1', { unicastSrcIp: '192.0.2.1', unicastPeers: [{ address: '192.0.2.2', location: loc() }] });
    const u2 = inst('VI_1', { unicastSrcIp: '192.0.2.1', unicastPeers: [{ address: '192.0.2.3', location: loc() }] });
    expect(instanceIdentity(u1)).toBe(instanceIdentity(u2));
    const plan = planReload(cfg({ vrrpInstances: [u1] }), cfg({ vrrpInstances: [u2] }));
    expect(plan.vrrpInstances.kept[0]!.changes.unicastPeers).toEqual({ added: [u2.unicastPeers[0]], removed: [u1.unicastPeers[0]] });
  });

  it('a removed instance must send priority 0 and drop its VIPs if it is MASTER', () => {
    const plan = planReload(cfg({ vrrpInstances: [inst('VI_1'), inst('VI_2', { virtualRouterId: 52 })] }), cfg({ vrrpInstances: [inst('VI_1')] }));
    expect(plan.vrrpInstances.removed.map((i) => i.name)).toEqual(['VI_2']);
    expect(plan.vrrpInstances.removedActions).toEqual([
      { identity: 'inet|eth0|52|mcast:224.0.0.18', instance: expect.objectContaining({ name: 'VI_2' }), ifMaster: ['send-priority-0', 'remove-vips'] },
    ]);
    expect(describePlan(plan)).toEqual(['(VI_2) removed']);
  });

  it('reports an added instance', () => {
    const plan = planReload(cfg(), cfg({ vrrpInstances: [inst('VI_1')] }));
    expect(plan.vrrpInstances.added.map((i) => i.name)).toEqual(['VI_1']);
    expect(plan.empty).toBe(false);
  });

  it('diffs VIPs (order does not matter), priority, advert interval and other fields', () => {
    const a = inst('VI_1', { virtualIpAddresses: [vip('10.0.0.100'), vip('10.0.0.101'), vip('10.0.0.102')] });
    const b = inst('VI_1', {
      virtualIpAddresses: [vip('10.0.0.102'), vip('10.0.0.100', 24), vip('10.0.0.103')],
      priority: 150,
      advertIntervalMs: 2000,
      nopreempt: true,
    });
    const [k] = planReload(cfg({ vrrpInstances: [a] }), cfg({ vrrpInstances: [b] })).vrrpInstances.kept;
    const c = k!.changes;
    expect(c.vips.added.map((v) => `${v.address}/${v.prefixLength}`)).toEqual(['10.0.0.100/24', '10.0.0.103/32']);
    expect(c.vips.removed.map((v) => `${v.address}/${v.prefixLength}`)).toEqual(['10.0.0.100/32', '10.0.0.101/32']);
    expect(c.priority).toEqual({ from: 100, to: 150 });
    expect(c.advertIntervalMs).toEqual({ from: 1000, to: 2000 });
    expect(c.otherFields).toEqual(['nopreempt']);
    expect(c.renamed).toBeUndefined();
  });

  it('a VIP whose label changes is removed and re-added; one moving to virtual_ipaddress_excluded is an advert change only', () => {
    const a = inst('VI_1', { virtualIpAddresses: [vip('10.0.0.100'), vip('10.0.0.101')] });
    const b = inst('VI_1', { virtualIpAddresses: [{ ...vip('10.0.0.100'), label: 'eth0:1' }], virtualIpAddressesExcluded: [vip('10.0.0.101')] });
    const c = planReload(cfg({ vrrpInstances: [a] }), cfg({ vrrpInstances: [b] })).vrrpInstances.kept[0]!.changes;
    expect(c.vips.added.map((v) => [v.address, v.label])).toEqual([['10.0.0.100', 'eth0:1']]);
    expect(c.vips.removed.map((v) => [v.address, v.label])).toEqual([['10.0.0.100', undefined]]);
    const b2 = inst('VI_1', { virtualIpAddresses: [vip('10.0.0.100')], virtualIpAddressesExcluded: [vip('10.0.0.101')] });
    const c2 = planReload(cfg({ vrrpInstances: [a] }), cfg({ vrrpInstances: [b2] })).vrrpInstances.kept[0]!.changes;
    expect(c2.vips).toEqual({ added: [], removed: [] });
    expect(c2.otherFields).toEqual(['virtualIpAddressesExcluded']);
  });

  it('track_script / track_interface added, removed and changed', () => {
    const a = inst('VI_1', {
      trackScripts: [{ name: 'chk_a', reverse: false, location: loc() }, { name: 'chk_b', reverse: false, location: loc() }],
      trackInterfaces: [{ name: 'eth1', weight: 0, reverse: false, location: loc() }],
    });
    const b = inst('VI_1', {
      trackScripts: [{ name: 'chk_b', weight: -20, reverse: false, location: loc() }, { name: 'chk_c', reverse: false, location: loc() }],
      trackInterfaces: [{ name: 'eth1', weight: 0, reverse: false, location: loc(99) }, { name: 'eth2', weight: 10, reverse: false, location: loc() }],
    });
    const c = planReload(cfg({ vrrpInstances: [a] }), cfg({ vrrpInstances: [b] })).vrrpInstances.kept[0]!.changes;
    expect(c.trackScripts.added.map((t) => t.name)).toEqual(['chk_c']);
    expect(c.trackScripts.removed.map((t) => t.name)).toEqual(['chk_a']);
    expect(c.trackScripts.changed.map((t) => [t.from.weight, t.to.weight])).toEqual([[undefined, -20]]);
    expect(c.trackInterfaces.added.map((t) => t.name)).toEqual(['eth2']);
    expect(c.trackInterfaces.removed).toEqual([]);
    expect(c.trackInterfaces.changed).toEqual([]); // only its line moved
  });

  it('a VIP moving between two kept instances is a move (hand over, never delete while the new owner is MASTER)', () => {
    const a = cfg({
      vrrpInstances: [
        inst('VI_1', { virtualIpAddresses: [vip('10.0.0.100'), vip('10.0.0.200')] }),
        inst('VI_2', { virtualRouterId: 52, virtualIpAddresses: [vip('10.0.0.101')] }),
      ],
    });
    const b = cfg({
      vrrpInstances: [
        inst('VI_1', { virtualIpAddresses: [vip('10.0.0.100')] }),
        inst('VI_2', { virtualRouterId: 52, virtualIpAddresses: [vip('10.0.0.101'), vip('10.0.0.200')] }),
      ],
    });
    const plan = planReload(a, b);
    expect(plan.vipMoves.map((m) => [m.vip.address, m.from, m.to])).toEqual([['10.0.0.200', 'VI_1', 'VI_2']]);
    expect(describePlan(plan)).toContain('VIP 10.0.0.200/32 moves from (VI_1) to (VI_2)');
  });

  it('a VIP moving from a removed instance to an added one is a move too', () => {
    const a = cfg({ vrrpInstances: [inst('VI_1', { virtualRouterId: 51, virtualIpAddresses: [vip('10.0.0.100')] })] });
    const b = cfg({ vrrpInstances: [inst('VI_9', { virtualRouterId: 59, virtualIpAddresses: [vip('10.0.0.100')] })] });
    const plan = planReload(a, b);
    expect(plan.vrrpInstances.removed.map((i) => i.name)).toEqual(['VI_1']);
    expect(plan.vrrpInstances.added.map((i) => i.name)).toEqual(['VI_9']);
    expect(plan.vipMoves.map((m) => [m.vip.address, m.from, m.to])).toEqual([['10.0.0.100', 'VI_1', 'VI_9']]);
  });

  it('two new instances with the same identity: the first is used and a warning says so', () => {
    const plan = planReload(cfg(), cfg({ vrrpInstances: [inst('VI_1'), inst('VI_1b')] }));
    expect(plan.vrrpInstances.added.map((i) => i.name)).toEqual(['VI_1']);
    expect(plan.warnings).toEqual(['vrrp_instances VI_1, VI_1b share VRID/family/interface/transport (inet|eth0|51|mcast:224.0.0.18); only VI_1 is used']);
  });
});

describe('planReload: vrrp_script, global_defs, sync groups', () => {
  it('scripts are matched by name; kept ones list changed fields and keep their result', () => {
    const plan = planReload(
      cfg({ vrrpScripts: [script('chk_a'), script('chk_b'), script('chk_c')] }),
      cfg({ vrrpScripts: [script('chk_b', { location: loc(30) }), script('chk_c', { intervalMs: 2000, fall: 3 }), script('chk_d')] }),
    );
    expect(plan.vrrpScripts.added.map((s) => s.name)).toEqual(['chk_d']);
    expect(plan.vrrpScripts.removed.map((s) => s.name)).toEqual(['chk_a']);
    expect(plan.vrrpScripts.kept.map((k) => [k.new.name, k.changed])).toEqual([['chk_b', []], ['chk_c', ['fall', 'intervalMs']]]);
  });

  it('global_defs changes are listed', () => {
    const b = cfg();
    b.global = { ...b.global, routerId: 'lb01-new', lvsProgramOnAllNodes: true };
    expect(planReload(cfg(), b).global.changedFields).toEqual(['lvsProgramOnAllNodes', 'routerId']);
  });

  it('sync groups by name', () => {
    const g = (name: string, members: string[]) => ({ name, location: loc(), members, trackInterfaces: [], trackScripts: [], notify: {}, smtpAlert: false, syncGroupTrackingWeight: false });
    const plan = planReload(cfg({ vrrpSyncGroups: [g('G1', ['VI_1']), g('G2', ['VI_2'])] }), cfg({ vrrpSyncGroups: [g('G1', ['VI_1', 'VI_3'])] }));
    expect(plan.syncGroups.removed.map((x) => x.name)).toEqual(['G2']);
    expect(plan.syncGroups.kept.map((x) => x.changedFields)).toEqual([['members']]);
  });
});

describe('planReload: virtual and real servers', () => {
  it('retained real servers are kept (alive state kept); a weight change is an edit', () => {
    const a = cfg({ virtualServers: [vs('10.0.0.100', 80, [rs('10.0.1.1'), rs('10.0.1.2'), rs('10.0.1.3')])] });
    const b = cfg({ virtualServers: [vs('10.0.0.100', 80, [rs('10.0.1.2', 80, { weight: 5 }), rs('10.0.1.3', 80, { location: loc(80) }), rs('10.0.1.4')])] });
    const plan = planReload(a, b);
    expect(plan.virtualServers.added).toEqual([]);
    expect(plan.virtualServers.removed).toEqual([]);
    const [k] = plan.virtualServers.kept;
    expect(k!.changed).toBe(true);
    expect(k!.realServers.added.map((r) => r.address)).toEqual(['10.0.1.4']);
    expect(k!.realServers.removed.map((r) => r.address)).toEqual(['10.0.1.1']);
    expect(k!.realServers.kept.map((r) => [r.identity, r.weight, r.ipvsFields, r.checkersChanged])).toEqual([
      ['10.0.1.2:80', { from: 1, to: 5 }, [], false],
      ['10.0.1.3:80', undefined, [], false],
    ]);
    expect(describePlan(plan)).toEqual([
      'virtual server tcp|10.0.0.100:80: real server 10.0.1.4:80 added; real server 10.0.1.1:80 removed; real server 10.0.1.2:80 weight 1 -> 5',
    ]);
  });

  it('a real server on another port is a different real server', () => {
    const plan = planReload(cfg({ virtualServers: [vs('10.0.0.100', 80, [rs('10.0.1.1', 80)])] }), cfg({ virtualServers: [vs('10.0.0.100', 80, [rs('10.0.1.1', 8080)])] }));
    const k = plan.virtualServers.kept[0]!;
    expect(k.realServers.added.map((r) => r.port)).toEqual([8080]);
    expect(k.realServers.removed.map((r) => r.port)).toEqual([80]);
  });

  it('checker, forwarding and service changes are classified', () => {
    const a = cfg({ virtualServers: [vs('10.0.0.100', 80, [rs('10.0.1.1')])] });
    const changedRs = rs('10.0.1.1', 80, { forwardMethod: 'route', checkers: [] });
    const b = cfg({ virtualServers: [vs('10.0.0.100', 80, [changedRs], { scheduler: 'rr', persistenceTimeout: 300, quorum: 2 })] });
    const k = planReload(a, b).virtualServers.kept[0]!;
    expect(k.ipvsFields).toEqual(['persistenceTimeout', 'scheduler']);
    expect(k.otherFields).toEqual(['quorum']);
    expect(k.realServers.kept[0]).toMatchObject({ ipvsFields: ['forwardMethod'], checkersChanged: true, otherFields: [], weight: undefined });
  });

  it('virtual servers are keyed by protocol + address + port, fwmark or group', () => {
    const tcp = vs('10.0.0.100', 80, []);
    const udp = vs('10.0.0.100', 80, [], { protocol: 'udp' });
    const fw: VirtualServer = { ...vs('0.0.0.0', 0, []), key: { kind: 'fwmark', fwmark: 7 } };
    const grp: VirtualServer = { ...vs('0.0.0.0', 0, []), key: { kind: 'group', group: 'web' } };
    const plan = planReload(cfg({ virtualServers: [tcp, fw] }), cfg({ virtualServers: [udp, fw, grp] }));
    expect(plan.virtualServers.added.map((v) => v.protocol + ':' + v.key.kind)).toEqual(['udp:address', 'tcp:group']);
    expect(plan.virtualServers.removed.map((v) => v.protocol)).toEqual(['tcp']);
    expect(plan.virtualServers.kept.map((v) => [v.identity, v.changed])).toEqual([['fwmark|inet|7', false]]);
  });

  it('virtual_server_group entries are diffed', () => {
    const entry = (address: string) => ({ kind: 'address' as const, family: 'inet' as const, address, port: 80, location: loc() });
    const plan = planReload(
      cfg({ virtualServerGroups: [{ name: 'web', location: loc(), entries: [entry('10.0.0.1'), entry('10.0.0.2')] }] }),
      cfg({ virtualServerGroups: [{ name: 'web', location: loc(), entries: [entry('10.0.0.2'), entry('10.0.0.3')] }] }),
    );
    expect(plan.virtualServerGroups.kept[0]!.entries.added.map((e) => (e.kind === 'address' ? e.address : ''))).toEqual(['10.0.0.3']);
    expect(plan.virtualServerGroups.kept[0]!.entries.removed.map((e) => (e.kind === 'address' ? e.address : ''))).toEqual(['10.0.0.1']);
  });
});
