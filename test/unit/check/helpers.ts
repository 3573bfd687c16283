// Test helpers: a fake clock driving the scheduler, and small spec builders.

import type { Clock, TimerHandle } from '../../../src/check/runtime.js';
import type { CheckerSpec, CheckTiming, RealServerSpec, VirtualServerSpec } from '../../../src/check/types.js';
import type { PreparedScript } from '../../../src/scripts/script-security.js';

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private t = 0;
  private seq = 0;
  private timers: FakeTimer[] = [];

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: FakeTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  pending(): number {
    return this.timers.filter((x) => !x.cancelled).length;
  }

  /** Advance time, firing due timers in order and letting promise callbacks run after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      this.timers = this.timers.filter((x) => !x.cancelled);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await flush();
  }
}

export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

export function timing(over: Partial<CheckTiming> = {}): CheckTiming {
  return {
    delayLoopMs: 6000,
    retry: 3,
    delayBeforeRetryMs: 3000,
    warmupMs: 0,
    alpha: false,
    logAllFailures: false,
    ...over,
  };
}

/** A MISC_CHECK's checked script: /bin/true as root (what from-config puts in the spec). */
export const trueScript: PreparedScript = { command: { kind: 'exec', file: '/bin/true', args: [] }, runAs: { user: 'root', uid: 0, gid: 0 }, configured: '/bin/true' };

export function tcpChecker(id: string, address: string, port: number, t: Partial<CheckTiming> = {}): CheckerSpec {
  return {
    id,
    label: `[${address}]:tcp:${port}`,
    timing: timing(t),
    probe: { type: 'TCP_CHECK', target: { family: 'inet', address, port, connectTimeoutMs: 3000 } },
  };
}

export function realServer(address: string, port: number, over: Partial<RealServerSpec> = {}): RealServerSpec {
  return {
    id: `${address}:${port}`,
    label: `[${address}]:tcp:${port}`,
    family: 'inet',
    address,
    port,
    weight: 1,
    forward: 'masq',
    upperThreshold: 0,
    lowerThreshold: 0,
    inhibitOnFailure: false,
    checkers: [],
    ...over,
  };
}

export function virtualServer(address: string, port: number, rs: RealServerSpec[], over: Partial<VirtualServerSpec> = {}): VirtualServerSpec {
  return {
    id: `[${address}]:tcp:${port}`,
    label: `[${address}]:tcp:${port}`,
    keys: [{ kind: 'addr', family: 'inet', protocol: 'tcp', address, port }],
    scheduler: 'wlc',
    flags: 0,
    timeout: 0,
    quorum: 1,
    hysteresis: 0,
    realServers: rs,
    ...over,
  };
}
