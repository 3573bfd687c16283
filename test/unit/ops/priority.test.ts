// Child scheduling from global_defs (pure plan) and how it is applied (fake io: no chrt/prlimit run).
import { describe, expect, it } from 'vitest';
import type { GlobalDefs } from '../../../src/config/model.js';
import { applyScheduling, schedulingPlan, type SchedulingIo } from '../../../src/daemon/process/priority.js';

const g = (o: Partial<GlobalDefs> = {}): GlobalDefs => o as GlobalDefs;

describe('schedulingPlan', () => {
  it('VRRP child by default: nice -10 and SCHED_RR 1, RLIMIT_RTTIME soft 2 s (warn only), no hard limit', () => {
    expect(schedulingPlan('vrrp', g())).toEqual({ nice: -10, realtime: 1, rttime: { soft: 2_000_000, hard: 'unlimited' }, notes: [] });
  });

  it('checker child by default: left alone (keepalived)', () => {
    expect(schedulingPlan('checker', g())).toEqual({ nice: undefined, notes: [] });
  });

  it('vrrp_rt_priority 0 turns realtime off; vrrp_priority still applies', () => {
    expect(schedulingPlan('vrrp', g({ vrrpRtPriority: 0, vrrpPriority: 0 }))).toEqual({ nice: 0, notes: [] });
  });

  it('a configured limit is keepalived\'s soft = half, hard = limit, raised to 1 s for Node.js with a note', () => {
    expect(schedulingPlan('checker', g({ checkerRtPriority: 5, checkerRlimitRttimeUs: 4_000_000 })).rttime).toEqual({ soft: 2_000_000, hard: 4_000_000 });
    const p = schedulingPlan('vrrp', g({ vrrpRtPriority: 30, vrrpRlimitRttimeUs: 10_000 }));
    expect(p.realtime).toBe(30);
    expect(p.rttime).toEqual({ soft: 500_000, hard: 1_000_000 });
    expect(p.notes).toEqual(['vrrp_rlimit_rttime 10000 µs is too short for a Node.js process (GC and reloads run longer between sleeps): using 1000000 µs']);
  });
});

function fakeIo(fail: Record<string, string> = {}): SchedulingIo & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    pid: 4242,
    threads: () => [4242, 4243, 4250],
    setNice: (tid, n) => {
      calls.push(`nice ${tid} ${n}`);
      if (fail.nice) throw new Error(fail.nice);
    },
    run: (cmd, args) => {
      calls.push([cmd, ...args].join(' '));
      if (fail[cmd]) throw Object.assign(new Error('Command failed'), { stderr: Buffer.from(`${fail[cmd]}\n`) });
    },
  };
}

describe('applyScheduling', () => {
  it('nice on every thread, limit first, then SCHED_RR with reset-on-fork on all our threads', () => {
    const io = fakeIo();
    const warnings: string[] = [];
    applyScheduling('vrrp', schedulingPlan('vrrp', g()), (m) => warnings.push(m), io);
    expect(io.calls).toEqual([
      'nice 4242 -10',
      'nice 4243 -10',
      'nice 4250 -10',
      'prlimit --pid 4242 --rttime=2000000:unlimited',
      'chrt --all-tasks --rr --reset-on-fork --pid 1 4242',
    ]);
    expect(warnings).toEqual([]);
  });

  it('without CAP_SYS_NICE: one warning per step that failed, and no realtime without its limit', () => {
    const io = fakeIo({ nice: 'EACCES', prlimit: 'prlimit: failed to set the RTTIME resource limit: Operation not permitted' });
    const warnings: string[] = [];
    applyScheduling('vrrp', schedulingPlan('vrrp', g()), (m) => warnings.push(m), io);
    expect(io.calls.some((c) => c.startsWith('chrt'))).toBe(false);
    expect(warnings).toEqual([
      'cannot set the VRRP process priority (nice -10): EACCES',
      'cannot set the VRRP process realtime limit (RLIMIT_RTTIME): prlimit: failed to set the RTTIME resource limit: Operation not permitted; staying SCHED_OTHER',
    ]);
  });

  it('a chrt failure names the policy and priority', () => {
    const io = fakeIo({ chrt: 'chrt: failed to set pid 4242\'s policy: Operation not permitted' });
    const warnings: string[] = [];
    applyScheduling('checker', schedulingPlan('checker', g({ checkerRtPriority: 7 })), (m) => warnings.push(m), io);
    expect(warnings).toEqual(["cannot set the checker process realtime priority (SCHED_RR 7): chrt: failed to set pid 4242's policy: Operation not permitted"]);
  });
});
