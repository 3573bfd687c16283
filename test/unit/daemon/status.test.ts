// What `lvskeeper status` says and why: transition reasons from the state machine, priority changes by
// tracker, and each virtual server's gating, kernel weight and last check error.
import { describe, expect, it } from 'vitest';
import { virtualServerStatus } from '../../../src/daemon/status/checker-status.js';
import { instanceStatus, vrrpStatus } from '../../../src/daemon/status/vrrp-status.js';
import type { VirtualServerStatusReport } from '../../../src/check/runtime.js';
import type { VirtualServerSpec } from '../../../src/check/types.js';
import type { InstanceStats } from '../../../src/vrrp/instance.js';
import { machineConfig, trackerDelta, trackerLabel, type Action, type MachineConfig } from '../../../src/vrrp/state-machine.js';
import { Sim, advert } from '../vrrp/harness.js';

const base = (over: Partial<MachineConfig> = {}) =>
  machineConfig({ name: 'VI_1', version: 2, family: 'inet', basePriority: 100, advertIntCs: 100, sourceAddress: '192.168.60.111', ...over });
const reasons = (s: Sim) => s.log.flatMap((e) => (e.action.type === 'transition' ? [`${(e.action as Extract<Action, { type: 'transition' }>).to}: ${(e.action as Extract<Action, { type: 'transition' }>).reason}`] : []));

describe('transition reasons an operator can act on', () => {
  it('advert timeout names the silent master; a higher priority names its sender; FAULT names the tracker', () => {
    const s = new Sim(base({ trackers: [{ name: 'script:lvs_check#0', weight: 0 }, { name: 'primary:eth0', weight: 0 }] }));
    s.event({ type: 'start' });
    s.event({ type: 'advert', advert: advert({ priority: 150 }), source: '192.168.60.112' });
    s.advance(4000);
    s.event({ type: 'advert', advert: advert({ priority: 200 }), source: '192.168.60.113' });
    s.event({ type: 'tracker', name: 'script:lvs_check#0', up: false });
    s.event({ type: 'tracker', name: 'script:lvs_check#0', up: true });
    s.event({ type: 'tracker', name: 'primary:eth0', up: false });
    expect(reasons(s)).toEqual([
      'BACKUP: init',
      'MASTER: advert timeout: no advert from 192.168.60.112',
      'BACKUP: higher priority 200 from 192.168.60.113',
      'FAULT: track_script lvs_check failed',
      'BACKUP: fault cleared',
      'FAULT: interface eth0 down',
    ]);
  });

  it('tracker labels and their effect on the priority, reverse included', () => {
    expect(trackerLabel('script:chk#g1')).toBe('track_script chk');
    expect(trackerLabel('interface:eth1#0')).toBe('track_interface eth1');
    expect(trackerDelta({ name: 'a', weight: -20 }, false)).toBe(-20);
    expect(trackerDelta({ name: 'a', weight: -20 }, true)).toBe(0);
    expect(trackerDelta({ name: 'a', weight: 10, reverse: true }, true)).toBe(-10);
    expect(trackerDelta({ name: 'a', weight: 0 }, false)).toBeNull();
    expect(trackerDelta({ name: 'a', weight: 0, reverse: true }, false)).toBe(0);
  });
});

describe('instance status', () => {
  const stats: InstanceStats = {
    state: 'BACKUP', basePriority: 150, effectivePriority: 130, masterAddress: '192.168.60.112', advertsReceived: 9, advertsSent: 2, becameMaster: 1,
    releasedMaster: 1, priorityZeroReceived: 0, priorityZeroSent: 1, dropped: 3, drops: { 'auth-pass': 2, ttl: 1 }, lateTimers: 0, maxTimerLateMs: 0,
  } as unknown as InstanceStats;
  it('lists only the trackers that move the priority, with keepalived counters', () => {
    const st = instanceStatus({
      name: 'VI_1', vrid: 51, family: 'inet', interface: 'eth0', vips: ['192.168.60.200'], stats, startedAt: 5,
      trackers: [
        { name: 'primary:eth0', weight: 0, reverse: false, up: true },
        { name: 'script:chk#0', weight: -20, reverse: false, up: false },
        { name: 'script:ok#1', weight: -20, reverse: false, up: true },
      ],
      lastTransition: { from: 'MASTER', to: 'BACKUP', reason: 'higher priority 150 from 192.168.60.112', at: 100 },
    });
    expect(st.priorityChanges).toEqual([{ tracker: 'track_script chk', delta: -20 }]);
    expect(st.since).toBe(100);
    expect(st.vipsPresent).toBe(false);
    expect(st.counters).toMatchObject({ authFailure: 2, ipTtlErr: 1, advertRcvd: 9, priZeroSent: 1 });
  });
  it('lists vrrp_scripts with their result and each tracked interface once, with sync groups', () => {
    const input = (name: string) => ({
      name, vrid: 51, family: 'inet' as const, interface: 'eth0', vips: [], stats, startedAt: 0,
      trackers: [{ name: 'primary:eth0', weight: 0, reverse: false, up: true }, { name: 'interface:eth1#0', weight: -10, reverse: false, up: false }],
      group: { name: 'G1', state: 'BACKUP' },
    });
    const out = vrrpStatus([input('VI_1'), input('VI_2')], new Map([['chk', 'down'], ['ok', 'up']]));
    expect(out.trackers).toEqual([
      { kind: 'script', name: 'chk', result: 'bad' },
      { kind: 'script', name: 'ok', result: 'good' },
      { kind: 'interface', name: 'eth0', result: 'up' },
      { kind: 'interface', name: 'eth1', result: 'down' },
    ]);
    expect(out.syncGroups).toEqual([{ name: 'G1', state: 'BACKUP', instances: ['VI_1', 'VI_2'] }]);
  });
});

describe('virtual server status', () => {
  const spec = {
    id: 'vs1',
    label: '[192.168.60.200]:tcp:80',
    keys: [{ kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.60.200', port: 80 }],
    realServers: [
      { id: 'rs1', label: '[192.168.60.121]:tcp:80', family: 'inet', address: '192.168.60.121', port: 80 },
      { id: 'rs2', label: '[192.168.60.122]:tcp:80', family: 'inet', address: '192.168.60.122', port: 80 },
    ],
  } as unknown as VirtualServerSpec;
  const reports: VirtualServerStatusReport[] = [
    {
      id: 'vs1', label: spec.label, quorumUp: true,
      realServers: [
        { id: 'rs1', label: '', alive: true, weight: 1, checkers: [{ id: 'c1', type: 'tcp' as never, up: true, hasRun: true, retryIt: 0 }], checksRun: 3, checksFailed: 0, durationBuckets: [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], durationSumS: 10.004 },
        { id: 'rs2', label: '', alive: false, weight: 1, checkers: [{ id: 'c2', type: 'tcp' as never, up: false, hasRun: true, retryIt: 0, lastReason: 'connection refused' }], checksRun: 0, checksFailed: 0, durationBuckets: [], durationSumS: 0 },
      ],
    },
  ];
  const kernel = [
    {
      service: { key: spec.keys[0]!, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255', stats: { conns: 7n, inPkts: 70n, outPkts: 0n, inBytes: 7000n, outBytes: 0n, cps: 0n, inPps: 0n, outPps: 0n, inBps: 0n, outBps: 0n } },
      destinations: [{ family: 'inet' as const, address: '192.168.60.121', port: 80, forward: 'route' as const, weight: 1, upperThreshold: 0, lowerThreshold: 0 }],
    },
  ];
  it('joins the checkers, the kernel and the gate', () => {
    const [vs] = virtualServerStatus({ specs: [spec], reports, kernel, gate: () => ({ programmed: true, why: 'VI_1 is MASTER' }), since: new Map([['vs1 rs2', 42]]) });
    expect(vs).toMatchObject({ programmedHere: true, why: 'VI_1 is MASTER', quorumUp: true, stats: { connections: 7, packetsIn: 70 } });
    expect(vs!.realServers).toMatchObject([
      { address: '192.168.60.121', port: 80, alive: true, since: undefined, lastError: undefined, kernelWeight: 1, checkers: 1, checkersFailing: 0, stats: undefined, checksRun: 3 },
      { address: '192.168.60.122', port: 80, alive: false, since: 42, lastError: 'connection refused', kernelWeight: undefined, checkers: 1, checkersFailing: 1, stats: undefined },
    ]);
    // Per-bucket counts become Prometheus' cumulative ones; the 10 s probe is only in +Inf.
    expect(vs!.realServers[0]!.checkDurations).toEqual({ bounds: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], counts: [0, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2], count: 3, sum: 10.004 });
    const [gated] = virtualServerStatus({ specs: [spec], reports, kernel: [], gate: () => ({ programmed: false, why: 'VI_1 BACKUP: installed only on the MASTER' }), since: new Map() });
    expect(gated).toMatchObject({ programmedHere: false, why: 'VI_1 BACKUP: installed only on the MASTER' });
    const [missing] = virtualServerStatus({ specs: [spec], reports, kernel: [], gate: () => ({ programmed: true, why: 'VI_1 is MASTER' }), since: new Map() });
    expect(missing).toMatchObject({ programmedHere: false, why: 'VI_1 is MASTER, but not in IPVS now' });
  });
});
