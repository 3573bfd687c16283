// The pure up/down/retry state machine of one checker, as keepalived's checkers implement it
// (check_tcp.c tcp_epilog, check_udp.c udp_epilog, check_http.c epilog, check_misc.c, check_dns.c):
//
//  - Start: without alpha the checker is UP and retry_it is preset to `retry`, so the very first
//    failure takes it down at once ("For non alpha mode, one failure is enough initially",
//    check_data.c). With alpha it starts DOWN and only a success brings it up.
//  - Up: a failure schedules a retry after delay_before_retry; after `retry` further consecutive
//    failures the checker goes DOWN ("TCP_CHECK on service [..] failed after N retries.").
//    A success resets the counter.
//  - Down: checked every delay_loop; one success brings it UP ("TCP connection to [..] success.").
//    HTTP_GET/SSL_GET without fast_recovery (check_http.c epilog): when the failed url passes again keepalived
//    walks the whole url list, one url per delay_loop, before the checker is up (the first round of an alpha
//    checker likewise). One lvskeeper probe checks every url, so the walk is `recoveryChecks` more passing
//    probes, delay_loop apart (recoveryChecks - 1 in the first round); a failure during it is retried after
//    delay_before_retry, as keepalived retries the failing url. fast_recovery: up at the first pass.
//  - Dynamic weight results (MISC misc_dynamic, FILE_CHECK) are reported on every success.
//
// No I/O, no clock: the caller feeds probe results and gets the next delay and the transition.

import type { CheckerType, CheckTiming, ProbeResult } from './types.js';

export interface CheckerState {
  up: boolean;
  /** keepalived's has_run: false until the first result. */
  hasRun: boolean;
  /** keepalived's retry_it */
  retryIt: number;
  /** Last dynamic weight reported (MISC dynamic), undefined = configured weight. */
  weight?: number | undefined;
  /** Last weight delta reported (FILE_CHECK). */
  weightDelta?: number | undefined;
  /** Last failure reason, for status dumps. */
  lastReason?: string | undefined;
  /** Down HTTP checker without fast_recovery: passing probes still needed before it goes up. */
  recoveryLeft?: number | undefined;
}

export interface CheckerStep {
  state: CheckerState;
  /** Delay until the next probe. */
  delayMs: number;
  /** Set when the checker's up/down state changed. */
  transition?: 'up' | 'down' | undefined;
  /** Set when the dynamic weight (or weight delta) changed. */
  weightChanged?: boolean | undefined;
  /** Log lines in keepalived's wording. */
  logs: string[];
}

export function initialCheckerState(timing: CheckTiming): CheckerState {
  return { up: !timing.alpha, hasRun: false, retryIt: timing.retry };
}

/** Delay before the first probe: random in [0, warmup] (keepalived `warmup`). `random` returns [0,1). */
export function firstProbeDelay(timing: CheckTiming, random: () => number): number {
  if (timing.warmupMs <= 0) return 0;
  return Math.floor(random() * (timing.warmupMs + 1));
}

interface Wording {
  success(label: string, extra: string): string;
  failed(label: string, retries: number, reason: string, extra: string): string;
  attempt(label: string, reason: string, extra: string): string;
}

/** Log phrases per checker type, following keepalived 2.2's messages. `extra` is e.g. the MISC script. */
const WORDING: Record<CheckerType, Wording> = {
  TCP_CHECK: {
    success: (l) => `TCP connection to ${l} success.`,
    failed: (l, n) => (n > 0 ? `TCP_CHECK on service ${l} failed after ${n} retries.` : `TCP_CHECK on service ${l} failed.`),
    attempt: (l, r) => `TCP connection to ${l} failed (${r}).`,
  },
  HTTP_GET: {
    success: (l) => `Remote Web server ${l} succeed on service.`,
    failed: (l, n) => (n > 0 ? `HTTP_CHECK on service ${l} failed after ${n} retries.` : `HTTP_CHECK on service ${l} failed.`),
    attempt: (l, r) => `${r} to server ${l}.`,
  },
  SSL_GET: {
    success: (l) => `Remote Web server ${l} succeed on service.`,
    failed: (l, n) => (n > 0 ? `HTTP_CHECK on service ${l} failed after ${n} retries.` : `HTTP_CHECK on service ${l} failed.`),
    attempt: (l, r) => `${r} to server ${l}.`,
  },
  MISC_CHECK: {
    success: (l, x) => `Misc check for [${l}] by [${x}] succeeded.`,
    failed: (l, n, r, x) => `Misc check for [${l}] by [${x}] ${r.startsWith('timed out') ? 'timed out' : 'failed'}${n > 0 ? ` after ${n} retries` : ''}${r.startsWith('timed out') ? '' : ` (${r})`}.`,
    attempt: (l, r, x) => `Misc check for [${l}] by [${x}] failed (${r}).`,
  },
  DNS_CHECK: {
    success: (l) => `DNS_CHECK (${l}) succeeded.`,
    failed: (l, n, r) => `DNS_CHECK (${l}) ${r}${n > 0 ? ` after ${n} retries` : ''}`,
    attempt: (l, r) => `DNS_CHECK (${l}) ${r}`,
  },
  SMTP_CHECK: {
    success: (l) => `SMTP connection to ${l} success.`,
    failed: (l, n, r) => `SMTP_CHECK on service ${l} failed${n > 0 ? ` after ${n} retries` : ''} (${r}).`,
    attempt: (l, r) => `SMTP_CHECK ${r} (${l})`,
  },
  UDP_CHECK: {
    success: (l) => `UDP connection to ${l} success.`,
    failed: (l, n) => (n > 0 ? `UDP_CHECK on service ${l} failed after ${n} retries.` : `UDP_CHECK on service ${l} failed.`),
    attempt: (l, r) => `UDP connection to ${l} failed (${r}).`,
  },
  PING_CHECK: {
    success: (l) => `ICMP connection to ${l} success.`,
    failed: (l, n) => (n > 0 ? `PING_CHECK on service ${l} failed after ${n} retries.` : `PING_CHECK on service ${l} failed.`),
    attempt: (l, r) => `ICMP connection to ${l} failed (${r}).`,
  },
  FILE_CHECK: {
    success: (l, x) => `(${l}): tracked file ${x} leaving FAULT state`,
    failed: (l, _n, _r, x) => `(${l}): tracked file ${x} now FAULT state`,
    attempt: (l, r) => `(${l}): tracked file ${r}`,
  },
};

export interface StepContext {
  type: CheckerType;
  label: string;
  timing: CheckTiming;
  /** MISC: the script; FILE: the file; used in log phrases. */
  extra?: string | undefined;
}

/** Apply one probe result. Pure. */
export function applyProbeResult(prev: CheckerState, result: ProbeResult, ctx: StepContext): CheckerStep {
  const { timing } = ctx;
  const words = WORDING[ctx.type];
  const extra = ctx.extra ?? '';
  const logs: string[] = [];
  const state: CheckerState = { ...prev, hasRun: true };
  let transition: 'up' | 'down' | undefined;
  let weightChanged = false;
  let delayMs = timing.delayLoopMs;

  if (result.ok && !prev.up && timing.recoveryChecks) {
    const left = prev.recoveryLeft !== undefined ? prev.recoveryLeft - 1 : prev.hasRun ? timing.recoveryChecks : timing.recoveryChecks - 1;
    if (left > 0) {
      state.recoveryLeft = left;
      state.retryIt = 0;
      return { state, delayMs, transition: undefined, weightChanged: undefined, logs };
    }
  }
  state.recoveryLeft = undefined;
  if (result.ok) {
    state.retryIt = 0;
    state.lastReason = undefined;
    if (result.weight !== prev.weight || result.weightDelta !== prev.weightDelta) {
      state.weight = result.weight;
      state.weightDelta = result.weightDelta;
      weightChanged = true;
    }
    if (!prev.up || !prev.hasRun) logs.push(words.success(ctx.label, extra));
    if (!prev.up) {
      state.up = true;
      transition = 'up';
    }
  } else {
    state.lastReason = result.reason;
    if ((prev.up || !prev.hasRun) && prev.retryIt >= timing.retry) {
      // Retries exhausted (or the initial "one failure is enough"): go down.
      state.retryIt = 0;
      logs.push(words.failed(ctx.label, prev.hasRun ? timing.retry : 0, result.reason, extra));
      if (prev.up) {
        state.up = false;
        transition = 'down';
      }
    } else if (prev.up) {
      state.retryIt = prev.retryIt + 1;
      delayMs = timing.delayBeforeRetryMs;
      if (timing.logAllFailures) logs.push(words.attempt(ctx.label, result.reason, extra));
    } else if (prev.recoveryLeft !== undefined) {
      // Mid-walk (keepalived: no failed url, epilog FAILED): the walk goes on after delay_before_retry.
      state.recoveryLeft = prev.recoveryLeft;
      delayMs = timing.delayBeforeRetryMs;
    }
    // While down: keep polling every delay_loop, nothing to log.
  }
  return { state, delayMs, transition, weightChanged: weightChanged || undefined, logs };
}
