// Scheduling of the daemon's children: nice (vrrp_priority / checker_priority) and realtime
// (vrrp_rt_priority / checker_rt_priority with *_rlimit_rttime), as keepalived's set_process_priorities().
//
// Node has no sched_setscheduler() or setrlimit(), so the realtime part runs util-linux's `chrt` and
// `prlimit` (Essential on Debian) on our own pid. keepalived is one thread; a Node process is a dozen,
// and the main thread (event loop, every VRRP timer) waits for some of the others: V8's GC helpers
// (a scavenge ends when every helper has finished its share) and libuv's thread pool. So the nice value
// and the realtime class go to every thread (chrt --all-tasks), or a GC helper queued behind a busy
// checker turns a 1 ms scavenge into a late advert (priority inversion; seen as a 12.9 ms late advert
// during the reload test in CI). The child starts its thread pool first (child-main.ts) so that all
// threads exist here. SCHED_RESET_ON_FORK (chrt --reset-on-fork, as keepalived sets it) keeps notify
// and track scripts out of the realtime class.

import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { GlobalDefs } from '../../config/model.js';

export type ChildRole = 'vrrp' | 'checker';

/**
 * The VRRP child's nice value when `vrrp_priority` is not set. keepalived leaves it at 0; lvskeeper
 * raises it: the VRRP child does little work, and an advert that waits for a busy CPU is exactly the
 * late advert that causes a false failover. `vrrp_priority 0` restores keepalived's behaviour. It only
 * matters when the child is not realtime (SCHED_RR ignores nice).
 */
export const DEFAULT_VRRP_NICE = -10;

/**
 * The VRRP child's SCHED_RR priority when `vrrp_rt_priority` is not set (keepalived: not realtime).
 * On a busy balancer nice alone still let adverts wait 5-7 ms for a CPU (bench:checks, EEVDF kernel);
 * realtime removes that. 1 is the lowest realtime priority: above every normal process, below the
 * kernel's own realtime threads. `vrrp_rt_priority 0` turns it off.
 */
export const DEFAULT_VRRP_RT_PRIORITY = 1;

/**
 * RLIMIT_RTTIME: CPU time a realtime thread may use without sleeping. keepalived's default is 10 ms,
 * soft limit half of it (SIGXCPU), hard limit the value (SIGKILL). A Node.js process can run longer than
 * that legitimately (a major GC, parsing a large file at reload), so a configured limit is raised to this
 * floor, and without one the soft limit only warns and there is no hard limit (the kernel's realtime
 * throttling, 95 % of a CPU, still bounds a runaway).
 */
export const MIN_RLIMIT_RTTIME_US = 1_000_000;
export const DEFAULT_RTTIME_WARN_US = 2_000_000;

export interface SchedulingPlan {
  nice?: number | undefined;
  /** SCHED_RR priority, or undefined to stay SCHED_OTHER. */
  realtime?: number | undefined;
  /** RLIMIT_RTTIME soft:hard in µs ('unlimited' hard: warn only). */
  rttime?: { soft: number; hard: number | 'unlimited' } | undefined;
  /** Things the operator should know (a raised limit). */
  notes: string[];
}

/** What a child should apply, from global_defs (pure). */
export function schedulingPlan(role: ChildRole, global: GlobalDefs): SchedulingPlan {
  const nice = role === 'vrrp' ? (global.vrrpPriority ?? DEFAULT_VRRP_NICE) : global.checkerPriority;
  const configured = role === 'vrrp' ? global.vrrpRtPriority : global.checkerRtPriority;
  const realtime = role === 'vrrp' ? (configured ?? DEFAULT_VRRP_RT_PRIORITY) : configured;
  const plan: SchedulingPlan = { nice, notes: [] };
  if (realtime === undefined || realtime === 0) return plan;
  plan.realtime = realtime;
  const limit = role === 'vrrp' ? global.vrrpRlimitRttimeUs : global.checkerRlimitRttimeUs;
  if (limit === undefined) {
    plan.rttime = { soft: DEFAULT_RTTIME_WARN_US, hard: 'unlimited' };
  } else {
    const hard = Math.max(limit, MIN_RLIMIT_RTTIME_US);
    if (hard !== limit) {
      plan.notes.push(`${role}_rlimit_rttime ${limit} µs is too short for a Node.js process (GC and reloads run longer between sleeps): using ${hard} µs`);
    }
    plan.rttime = { soft: Math.floor(hard / 2), hard };
  }
  return plan;
}

export interface SchedulingIo {
  /** Thread ids of this process (the main thread's is the pid). */
  threads(): number[];
  setNice(tid: number, nice: number): void;
  run(cmd: string, args: string[]): void;
  pid: number;
}

const processIo: SchedulingIo = {
  threads: () => readdirSync('/proc/self/task').map(Number),
  // setpriority(PRIO_PROCESS, tid) sets one thread's nice value on Linux.
  setNice: (tid, nice) => setPriority(tid, nice),
  run: (cmd, args) => {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
  },
  pid: process.pid,
};

function failure(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string };
  const text = err.stderr?.toString().trim();
  return text || err.message || String(e);
}

/** Apply a plan to this process; every failure is one warning, and the child runs on regardless. */
export function applyScheduling(role: ChildRole, plan: SchedulingPlan, warn: (m: string) => void, io: SchedulingIo = processIo): void {
  const who = role === 'vrrp' ? 'VRRP' : 'checker';
  for (const n of plan.notes) warn(n);
  if (plan.nice !== undefined) {
    try {
      for (const tid of io.threads()) io.setNice(tid, plan.nice);
    } catch (e) {
      warn(`cannot set the ${who} process priority (nice ${plan.nice}): ${(e as Error).message}`);
    }
  }
  if (plan.realtime === undefined) return;
  // The limit first: the thread must never run realtime without it.
  if (plan.rttime !== undefined) {
    try {
      io.run('prlimit', ['--pid', String(io.pid), `--rttime=${plan.rttime.soft}:${plan.rttime.hard}`]);
    } catch (e) {
      warn(`cannot set the ${who} process realtime limit (RLIMIT_RTTIME): ${failure(e)}; staying SCHED_OTHER`);
      return;
    }
  }
  try {
    io.run('chrt', ['--all-tasks', '--rr', '--reset-on-fork', '--pid', String(plan.realtime), String(io.pid)]);
  } catch (e) {
    warn(`cannot set the ${who} process realtime priority (SCHED_RR ${plan.realtime}): ${failure(e)}`);
  }
}
