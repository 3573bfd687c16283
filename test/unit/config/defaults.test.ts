import { describe, expect, it } from 'vitest';
import { instance, messages, parseText } from './helpers.js';

const vi0 = (text: string) => parseText(text).config.vrrpInstances[0]!;

describe('global_defs defaults and keywords', () => {
  it('has keepalived 2.2.7 defaults', () => {
    const g = parseText('').config.global;
    expect(g).toMatchObject({
      routerId: 'testhost',
      vrrpMcastGroup4: '224.0.0.18',
      vrrpMcastGroup6: 'ff02::12',
      vrrpVersion: 2,
      vrrpGarpMasterDelayMs: 5000,
      vrrpGarpMasterRepeat: 5,
      vrrpGarpMasterRefreshMs: 0,
      vrrpGarpMasterRefreshRepeat: 1,
      vrrpGarpIntervalMs: 0,
      vrrpGnaIntervalMs: 0,
      vrrpDownTimerAdverts: 3,
      vrrpStrict: false,
      enableScriptSecurity: false,
      lvsFlush: false,
      lvsFlushOnStop: 'off',
      lvsProgramOnAllNodes: false,
    });
  });
  it('reads the modelled keywords', () => {
    const g = parseText(
      [
        'global_defs {',
        ' router_id LVS_01',
        ' vrrp_mcast_group4 224.0.0.19',
        ' vrrp_version 3',
        ' vrrp_garp_master_delay 2.5',
        ' vrrp_garp_lower_prio_repeat 2',
        ' vrrp_garp_interval 0.001',
        ' vrrp_strict',
        ' vrrp_skip_check_adv_addr',
        ' vrrp_check_unicast_src',
        ' vrrp_lower_prio_no_advert on',
        ' vrrp_higher_prio_send_advert false',
        ' vrrp_down_timer_adverts 5',
        ' script_user nobody:nogroup',
        ' enable_script_security',
        ' notify_fifo /run/k.fifo',
        ' notify_fifo_script /usr/bin/handle root',
        ' lvs_sync_daemon eth0 VI_1 id 3 port 9000',
        ' lvs_timeouts tcp 900 tcpfin 60 udp 300',
        ' lvs_flush',
        ' lvs_flush_on_stop VS',
        ' max_auto_priority 10',
        ' state_file_location /tmp/s',
        ' lvs_program_on_all_nodes true',
        ' vrrp_iptables',
        '}',
      ].join('\n'),
    ).config.global;
    expect(g).toMatchObject({
      routerId: 'LVS_01',
      vrrpMcastGroup4: '224.0.0.19',
      vrrpVersion: 3,
      vrrpGarpMasterDelayMs: 2500,
      vrrpGarpLowerPrioRepeat: 2,
      vrrpGarpIntervalMs: 1,
      vrrpStrict: true,
      vrrpSkipCheckAdvAddr: true,
      vrrpCheckUnicastSrc: true,
      vrrpLowerPrioNoAdvert: true,
      vrrpHigherPrioSendAdvert: false,
      vrrpDownTimerAdverts: 5,
      scriptUser: { user: 'nobody', group: 'nogroup' },
      enableScriptSecurity: true,
      lvsSyncDaemon: { interface: 'eth0', instance: 'VI_1', syncId: 3, port: 9000 },
      lvsTimeouts: { tcp: 900, tcpFin: 60, udp: 300 },
      lvsFlush: true,
      lvsFlushOnStop: 'vs',
      maxAutoPriority: 10,
      stateFileLocation: '/tmp/s',
      lvsProgramOnAllNodes: true,
    });
    expect(g.notifyFifo).toMatchObject({ path: '/run/k.fifo', script: { command: '/usr/bin/handle', user: 'root' } });
  });
  it('startup_script / shutdown_script with their timeouts (default 10 s) and keepalived\'s messages', () => {
    const r = parseText('global_defs {\n  startup_script "/bin/s a" root\n  shutdown_script /bin/t\n  shutdown_script_timeout 3\n  startup_script /bin/x\n  startup_script_timeout 0\n  shutdown_script\n}\n');
    expect(r.config.global).toMatchObject({ startupScript: { command: '/bin/s a', user: 'root' }, startupScriptTimeoutS: 10, shutdownScript: { command: '/bin/t' }, shutdownScriptTimeoutS: 3 });
    expect(r.diagnostics.map((d) => [d.line, d.message])).toEqual([
      [5, 'startup script already specified'],
      [6, "startup_script_timeout '0' must be in [1, 1000] - ignoring"],
      [7, 'shutdown script already specified'],
    ]);
    expect(messages(parseText('global_defs {\n  shutdown_script\n}\n'))).toEqual(['shutdown script missing']);
  });
  it('rejects an explicit vrrp_garp_interval 0 as 2.2.7 does', () => {
    const r = parseText('global_defs {\n  vrrp_garp_interval 0\n}\n');
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(["number '0' outside range [0.000001, 4294.967295]", "vrrp_garp_interval '0' is invalid"]);
    expect(r.diagnostics.every((d) => d.line === 2)).toBe(true);
  });
});

describe('vrrp_script', () => {
  it('defaults interval 1 s, timeout = interval, weight 0, rise/fall 1', () => {
    const s = parseText('vrrp_script chk {\n  script "/bin/check a"\n  interval 2\n}\n').config.vrrpScripts[0]!;
    expect(s).toMatchObject({ name: 'chk', script: '/bin/check a', intervalMs: 2000, timeoutMs: 2000, weight: 0, weightReverse: false, rise: 1, fall: 1, initFail: false });
  });
  it('reads weight reverse, rise, fall, user, init_fail, and rejects out-of-range weights', () => {
    const r = parseText('vrrp_script chk {\n script x\n weight -20 reverse\n rise 3\n fall 2\n user nobody\n init_fail\n timeout 0.5\n}\nvrrp_script b {\n script y\n weight 300\n}\n');
    expect(r.config.vrrpScripts[0]).toMatchObject({ weight: -20, weightReverse: true, rise: 3, fall: 2, user: 'nobody', initFail: true, timeoutMs: 500 });
    expect(messages(r)).toEqual(["number '300' outside range [-253, 253]"]);
  });
  it('removes a script without a command', () => {
    const r = parseText('vrrp_script chk {\n interval 1\n}\n');
    expect(r.config.vrrpScripts).toEqual([]);
    expect(messages(r)).toEqual(['No script set for vrrp_script chk - removing']);
  });
});

describe('vrrp_instance', () => {
  it('has keepalived defaults', () => {
    const vi = vi0(instance(''));
    expect(vi).toMatchObject({
      state: 'BACKUP',
      priority: 100,
      advertIntervalMs: 1000,
      version: 2,
      family: 'inet',
      nopreempt: false,
      preemptDelayMs: 0,
      accept: true,
      mcastGroup: '224.0.0.18',
      garpMasterDelayMs: 5000,
      garpMasterRepeat: 5,
      garpLowerPrioDelayMs: 5000,
      garpLowerPrioRepeat: 5,
      downTimerAdverts: 3,
    });
    expect(vi.virtualIpAddresses[0]).toMatchObject({ address: '10.0.0.1', prefixLength: 32, family: 'inet', noTrack: false });
  });
  it('state MASTER without priority means 255 and clears nopreempt / preempt_delay with a warning', () => {
    const r = parseText(instance('  state MASTER\n  nopreempt\n  preempt_delay 10'));
    expect(r.config.vrrpInstances[0]).toMatchObject({ state: 'MASTER', priority: 255, nopreempt: false, preemptDelayMs: 0 });
    expect(messages(r)).toEqual([
      '(VI_1) Warning - nopreempt will not work with initial state MASTER - clearing',
      '(VI_1) Warning - preempt delay will not work with initial state MASTER - clearing',
    ]);
  });
  it('falls back to priority 100 on an invalid value', () => {
    const r = parseText(instance('  priority 300'));
    expect(r.config.vrrpInstances[0]!.priority).toBe(100);
    expect(messages(r)).toEqual(["number '300' outside range [1, 255]", '(VI_1) Priority not valid! must be between 1 & 255. Using default 100']);
  });
  it('rounds a fractional v2 advert_int with a warning; v3 keeps centiseconds', () => {
    const r = parseText(instance('  advert_int 1.5'));
    expect(r.config.vrrpInstances[0]!.advertIntervalMs).toBe(2000);
    expect(messages(r)).toEqual(['(VI_1) VRRPv2 advertisement interval 1.500000s must be an integer. rounding']);
    expect(vi0(instance('  version 3\n  advert_int 0.25')).advertIntervalMs).toBe(250);
  });
  it('requires virtual_router_id', () => {
    const r = parseText('vrrp_instance VI_9 {\n  interface eth0\n}\n');
    expect(r.config.vrrpInstances).toEqual([]);
    expect(messages(r)).toEqual(['(VI_9) the virtual router id must be set']);
  });
  it('reports a duplicate VRID with the same family and interface', () => {
    const r = parseText(instance('', 'VI_1') + instance('', 'VI_2'));
    expect(messages(r)).toEqual(['VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0']);
  });
  it('truncates auth_pass to 8 bytes and never reveals it in diagnostics', () => {
    const r = parseText(instance('  authentication {\n    auth_type PASS\n    auth_pass s3cretLongPassword\n  }'));
    expect(r.config.vrrpInstances[0]!.authentication).toMatchObject({ type: 'PASS', password: 's3cretLo' });
    expect(messages(r)).toEqual(['Truncating auth_pass to 8 characters']);
    expect(JSON.stringify(r.diagnostics)).not.toContain('s3cret');
  });
  it('parses VIP options, IPv6 VIPs (/128, version 3) and excluded addresses', () => {
    const vi = vi0(
      'vrrp_instance V6 {\n interface eth0\n virtual_router_id 3\n virtual_ipaddress {\n  fe80::1 dev eth0\n  2001:db8::5/64 scope global label x no_track\n }\n virtual_ipaddress_excluded {\n  10.1.1.1/24 brd 10.1.1.255 dev eth0\n }\n}\n',
    );
    expect(vi.family).toBe('inet6');
    expect(vi.version).toBe(3);
    expect(vi.mcastGroup).toBe('ff02::12');
    expect(vi.virtualIpAddresses).toMatchObject([
      { address: 'fe80::1', prefixLength: 128, dev: 'eth0' },
      // keepalived: no scope or label on IPv6 addresses ("Cannot specify … - ignoring"); a /128 is deprecated.
      { address: '2001:db8::5', prefixLength: 64, scope: undefined, label: undefined, noTrack: true, preferredLft: 0xffffffff },
    ]);
    expect(vi.virtualIpAddresses[0]!.preferredLft).toBe(0);
    expect(vi.virtualIpAddressesExcluded[0]).toMatchObject({ address: '10.1.1.1', prefixLength: 24, brd: '10.1.1.255' });
  });
  it('reads unicast, tracking, notify, garp overrides and use_vmac', () => {
    const r = parseText(
      'vrrp_script chk {\n script /bin/true\n}\n' +
        instance(
          [
            ' unicast_src_ip 10.0.0.2',
            ' unicast_peer {\n  10.0.0.3 min_ttl 1 max_ttl 64\n  10.0.0.4\n }',
            ' unicast_ttl 10',
            ' track_interface {\n  eth1 weight -10\n  eth2 weight 5 reverse\n }',
            ' track_script {\n  chk weight 20\n  nochk\n }',
            ' notify_master "/bin/m a" root',
            ' notify /bin/n',
            ' garp_master_delay 1',
            ' garp_master_repeat 2',
            ' dont_track_primary',
            ' no_accept',
            ' use_vmac vrrp.51',
            ' virtual_routes {\n  10.9.0.0/16 via 10.0.0.254\n }',
          ].join('\n'),
        ),
    );
    const vi = r.config.vrrpInstances[0]!;
    expect(vi.unicastSrcIp).toBe('10.0.0.2');
    expect(vi.unicastPeers).toMatchObject([{ address: '10.0.0.3', minTtl: 1, maxTtl: 64 }, { address: '10.0.0.4' }]);
    expect(vi.unicastTtl).toBe(10);
    expect(vi.trackInterfaces).toMatchObject([{ name: 'eth1', weight: -10, reverse: false }, { name: 'eth2', weight: 5, reverse: true }]);
    expect(vi.trackScripts).toMatchObject([{ name: 'chk', weight: 20 }]);
    expect(vi.notify.master).toMatchObject({ command: '/bin/m a', user: 'root' });
    expect(vi.notify.generic?.command).toBe('/bin/n');
    expect(vi).toMatchObject({ garpMasterDelayMs: 1000, garpMasterRepeat: 2, garpLowerPrioDelayMs: 1000, garpLowerPrioRepeat: 2, dontTrackPrimary: true, accept: false });
    expect(vi.useVmac).toEqual({ name: 'vrrp.51' });
    expect(vi.virtualRoutes[0]).toMatchObject({ family: 'inet', destination: { address: '10.9.0.0', prefixLength: 16 }, via: { family: 'inet', address: '10.0.0.254' }, table: 254, protocol: 18 });
    expect(r.diagnostics.find((d) => d.keyword === 'use_vmac')).toBeUndefined();
    expect(messages(r)).toContain('(VI_1) track script nochk not found, ignoring...');
  });
  it("use_vmac [NAME] [MAC], vmac_xmit_base (before or after), use_vmac_addr, native_ipv6: keepalived's messages", () => {
    const r = parseText(
      instance(' vmac_xmit_base\n use_vmac 00:00:5E:11:22 vm1\n use_vmac_addr', 'VI_1') +
        instance(' virtual_router_id 52\n use_vmac vm1 01:00:5e:00:00:01\n use_vmac 00:00:5e:00:01:05', 'VI_2') +
        instance(' virtual_router_id 53\n use_vmac this-name-is-too-long\n vmac_xmit_base', 'VI_3') +
        instance(' virtual_router_id 54\n native_ipv6', 'VI_4'),
    );
    const [a, b, c] = r.config.vrrpInstances;
    expect(a).toMatchObject({ useVmac: { name: 'vm1', mac: '00:00:5e:11:22', xmitBase: true }, useVmacAddr: true });
    expect(b!.useVmac).toEqual({});
    expect(c!.useVmac).toEqual({ xmitBase: true });
    expect(messages(r)).toEqual([
      '(VI_2) VRRP instance VI_1 is already using vm1 - ignoring name',
      'VMAC MAC address is multicast 01:00:5e:00:00:01 - ignoring',
      'VMAC MAC address not allowed to be RFC5798 address (00:00:5e:00:01:05) - ignoring',
      "VMAC interface name 'this-name-is-too-long' too long or invalid characters - ignoring",
      '(VI_4) Cannot specify native_ipv6 with IPv4 addresses',
    ]);
    const v6 = parseText(instance(' virtual_router_id 55\n vmac_xmit_base', 'VI_5').replace(' virtual_ipaddress', ' native_ipv6\n virtual_ipaddress'));
    expect(messages(v6)).toContain('(VI_5) vmac_xmit_base is only valid with a vmac');
  });
  it('lvs_sync_daemon_interface on an instance: deprecated, and still the sync daemon following that instance (2.2.7)', () => {
    const r = parseText(instance(' lvs_sync_daemon_interface eth1', 'VI_10') + instance(' virtual_router_id 52\n lvs_sync_daemon_interface eth2', 'VI_2'));
    expect(r.config.global.lvsSyncDaemon).toMatchObject({ interface: 'eth1', instance: 'VI_10', port: 8848 });
    expect(messages(r)).toEqual([
      '(VI_10) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.',
      '         Please use global lvs_sync_daemon',
      '(VI_2) Specifying lvs_sync_daemon_interface against a vrrp is deprecated.',
      '        Please use global lvs_sync_daemon',
      '(VI_2) lvs_sync_daemon_interface has already been specified as eth1 - ignoring',
    ]);
  });
  it('an instance without interface: Unknown interface! (multicast), unicast needs unicast_src_ip; dropped either way', () => {
    const body = (extra: string) => `vrrp_instance VI_1 {\n virtual_router_id 51\n${extra} virtual_ipaddress {\n  10.0.0.1\n }\n}\n`;
    const multicast = parseText(body(''));
    expect(multicast.config.vrrpInstances).toEqual([]);
    expect(messages(multicast)).toEqual(['(VI_1) Unknown interface!']);
    expect(messages(parseText(body(' unicast_peer {\n  10.0.0.9\n }\n')))).toEqual(['(VI_1): Unicast instances must have unicast_src_ip or interface']);
    const srcOnly = parseText(body(' unicast_src_ip 10.0.0.8\n unicast_peer {\n  10.0.0.9\n }\n'));
    expect(srcOnly.config.vrrpInstances).toEqual([]);
    expect(messages(srcOnly)[0]).toMatch(/unicast instance without interface is not supported by lvskeeper yet/);
  });
  it('applies strict mode: MASTER must be owner, no authentication, no accept', () => {
    const r = parseText('global_defs {\n vrrp_strict\n}\n' + instance(' state MASTER\n priority 100\n authentication {\n  auth_type PASS\n  auth_pass 1111\n }'));
    const vi = r.config.vrrpInstances[0]!;
    expect(vi).toMatchObject({ strictMode: true, state: 'BACKUP', accept: false, authentication: undefined, lowerPrioNoAdvert: true });
    expect(messages(r)).toEqual(['(VI_1) State MASTER must match being address owner', '(VI_1) Strict mode does not support authentication. Ignoring.']);
  });
  it('AH: keepalived clears initial state MASTER below 255 and runs the instance with AH; not with IPv6', () => {
    const r = parseText(instance(' state MASTER\n priority 150\n authentication {\n  auth_type AH\n  auth_pass x\n }'));
    expect(r.config.vrrpInstances[0]).toMatchObject({ state: 'BACKUP', authentication: { type: 'AH', password: 'x' } });
    expect(messages(r)).toEqual(['(VI_1) Initial state master is incompatible with AH authentication - clearing']);
  });
  it('virtual_routes, virtual_rules and static_* are parsed into the model, with keepalived\'s messages', () => {
    const r = parseText(
      'static_routes {\n 10.8.0.0/16 via 10.0.0.1 dev eth0\n}\n' +
        instance(' virtual_routes {\n  10.9.0.0/16 via 10.0.0.254 dev eth0\n  10.10.0.0/16 via 10.0.0.254\n }\n virtual_rules {\n  from 10.9.0.1 table 100\n }'),
    );
    expect(r.config.vrrpInstances).toHaveLength(1);
    expect(r.config.staticRoutes).toHaveLength(1);
    expect(r.config.vrrpInstances[0]!.virtualRoutes).toHaveLength(2);
    expect(r.config.vrrpInstances[0]!.virtualRules).toMatchObject([{ from: { address: '10.9.0.1', prefixLength: 32 }, table: 100, priority: 16384 }]);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`)).toEqual([
      '12: Warning - cannot track route 10.10.0.0/16 with no interface specified, not tracking',
      '15: Rule has no preference specified - setting to 16384. This is probably not what you want.',
    ]);
  });
});

describe('vrrp_sync_group', () => {
  it('reads group members, tracking and notify', () => {
    const r = parseText(
      instance('', 'VI_1') +
        instance(' virtual_router_id 52', 'VI_2') +
        'vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n }\n notify_master /bin/m\n sync_group_tracking_weight\n track_interface {\n  eth0\n }\n}\n',
    );
    expect(r.config.vrrpSyncGroups[0]).toMatchObject({ name: 'G', members: ['VI_1', 'VI_2'], syncGroupTrackingWeight: true });
    expect(r.config.vrrpSyncGroups[0]!.notify.master?.command).toBe('/bin/m');
    expect(r.config.vrrpInstances.map((v) => v.syncGroup)).toEqual(['G', 'G']);
  });
  it('global_tracking is sync_group_tracking_weight, reported as deprecated (2.2.7)', () => {
    const r = parseText(instance('', 'VI_1') + 'vrrp_sync_group G {\n group {\n  VI_1\n }\n global_tracking\n}\n');
    expect(r.config.vrrpSyncGroups[0]!.syncGroupTrackingWeight).toBe(true);
    expect(messages(r)).toContain('(G) global_tracking is deprecated. Use track_interface/script/file on the sync group');
  });
  it('the old form without group{} gives Unknown keyword, as 2.2.7', () => {
    const r = parseText(instance('') + 'vrrp_sync_group G {\n VI_1\n}\n');
    expect(messages(r)).toContain("Unknown keyword 'VI_1'");
  });
});

describe('virtual_server_group', () => {
  it('reads addresses, ranges (IPv4 and IPv6) and fwmarks', () => {
    const g = parseText('virtual_server_group G {\n 192.168.200.3-10 80\n 10.0.0.0/30 443\n ae00::2-9 80\n fwmark 7 inet6\n 1.2.3.4 8080\n}\n').config.virtualServerGroups[0]!;
    expect(g.entries).toMatchObject([
      { kind: 'address', family: 'inet', address: '192.168.200.3', rangeEnd: '192.168.200.10', port: 80 },
      { kind: 'address', address: '10.0.0.0', rangeEnd: '10.0.0.3', port: 443 },
      { kind: 'address', family: 'inet6', address: 'ae00::2', rangeEnd: 'ae00::9', port: 80 },
      { kind: 'fwmark', fwmark: 7, family: 'inet6' },
      { kind: 'address', address: '1.2.3.4', port: 8080 },
    ]);
  });
});

describe('track_script weight resolution', () => {
  it('uses the vrrp_script weight unless the instance overrides it', () => {
    const r = parseText('vrrp_script a {\n script /bin/true\n weight -20\n}\nvrrp_script b {\n script /bin/true\n weight 5 reverse\n}\n' + instance(' track_script {\n  a\n  b\n  a weight 10\n }'));
    expect(r.config.vrrpInstances[0]!.trackScripts.map((t) => [t.name, t.weight, t.reverse])).toEqual([
      ['a', -20, false],
      ['b', 5, true],
      ['a', 10, false],
    ]);
  });
});

describe('process priorities', () => {
  it('vrrp_priority and checker_priority are nice values in [-20, 19]', () => {
    const r = parseText('global_defs {\n  vrrp_priority -15\n  checker_priority 5\n}\n');
    expect(r.config.global.vrrpPriority).toBe(-15);
    expect(r.config.global.checkerPriority).toBe(5);
    expect(r.diagnostics).toEqual([]);
    const bad = parseText('global_defs {\n  vrrp_priority -21\n}\n');
    expect(bad.config.global.vrrpPriority).toBeUndefined();
    expect(messages(bad)).toEqual(["number '-21' outside range [-20, 19]", 'Invalid vrrp process priority specified']);
  });
});

describe('realtime scheduling', () => {
  it('vrrp_rt_priority / checker_rt_priority: SCHED_RR 1..99, clamped with keepalived\'s complaint; 0 = not realtime', () => {
    const r = parseText('global_defs {\n  vrrp_rt_priority 20\n  checker_rt_priority 0\n}\n');
    expect([r.config.global.vrrpRtPriority, r.config.global.checkerRtPriority]).toEqual([20, 0]);
    expect(r.diagnostics).toEqual([]);
    const high = parseText('global_defs {\n  vrrp_rt_priority 120\n}\n');
    expect(high.config.global.vrrpRtPriority).toBe(99);
    expect(messages(high)).toEqual(['vrrp process real-time priority 120 greater than maximum 99 - setting to maximum']);
    const low = parseText('global_defs {\n  checker_rt_priority -3\n}\n');
    expect(low.config.global.checkerRtPriority).toBe(1);
    expect(messages(low)).toEqual(['checker process real-time priority -3 less than minimum 1 - setting to minimum']);
    const bad = parseText('global_defs {\n  vrrp_rt_priority high\n}\n');
    expect(bad.config.global.vrrpRtPriority).toBeUndefined();
    expect(messages(bad)).toEqual(["vrrp process real-time priority 'high' invalid"]);
    expect(messages(parseText('global_defs {\n  vrrp_rt_priority\n}\n'))).toEqual(['No vrrp process real-time priority specified']);
  });

  it('*_rlimit_rttime in µs (minimum 2, as keepalived); the old *_rlimit_rtime spelling works with a deprecation note', () => {
    const r = parseText('global_defs {\n  vrrp_rlimit_rttime 3000000\n  checker_rlimit_rtime 1\n}\n');
    expect([r.config.global.vrrpRlimitRttimeUs, r.config.global.checkerRlimitRttimeUs]).toEqual([3_000_000, 2]);
    expect(r.diagnostics.map((d) => [d.severity, d.message])).toEqual([
      ['info', "Keyword 'checker_rlimit_rtime' is deprecated - please use 'checker_rlimit_rttime'"],
    ]);
    const bad = parseText('global_defs {\n  vrrp_rlimit_rttime 0\n}\n');
    expect(bad.config.global.vrrpRlimitRttimeUs).toBeUndefined();
    expect(messages(bad)).toEqual(['Invalid vrrp real-time limit - 0']);
  });
});

describe('notify_priority_changes', () => {
  it('an instance inherits vrrp_notify_priority_changes unless it says otherwise', () => {
    const vi = (g: string, extra: string) =>
      parseText(`global_defs {\n${g}}\nvrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  virtual_ipaddress {\n    10.0.0.1\n  }\n${extra}}\n`).config.vrrpInstances[0]!;
    expect(vi('', '').notifyPriorityChanges).toBe(false);
    expect(vi('  vrrp_notify_priority_changes\n', '').notifyPriorityChanges).toBe(true);
    expect(vi('  vrrp_notify_priority_changes\n', '  notify_priority_changes false\n').notifyPriorityChanges).toBe(false);
    expect(vi('', '  notify_priority_changes\n').notifyPriorityChanges).toBe(true);
  });
});
