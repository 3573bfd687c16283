// Late VRRP timers, reported the way an operator can act on (keepalived logs "A thread timer expired
// 4.7 seconds ago", the classic sign of a starved process before a false failover). A timer that ran
// LATE_TIMER_MS or more after its deadline is logged with what blocked the process when that is known
// (a garbage collection, from the adapter), at most once a minute per instance with a count of the rest.
import type { Logger } from '../log/logger.js';
import type { Clock } from './timers.js';
import type { TimerKind } from './state-machine.js';

/**
 * What paused the process between two monotonic times, if the adapter knows (e.g. a GC). May answer
 * later: Node reports a GC to observers only after the code that the GC interrupted has run.
 */
export type StallExplainer = (fromMs: number, toMs: number) => Promise<string | undefined> | string | undefined;

const TIMER_NAMES: Record<TimerKind, string> = {
  adver: 'advert timer',
  masterDown: 'master-down timer',
  garpDelay: 'gratuitous ARP delay timer',
  garpRefresh: 'gratuitous ARP refresh timer',
  garpLowerPrio: 'lower-priority gratuitous ARP timer',
};

export const LATE_TIMER_LOG_INTERVAL_MS = 60_000;

export class LateTimerReporter {
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly explain: StallExplainer = () => undefined,
  ) {}

  report(instance: string, kind: TimerKind, lateMs: number, deadline: number): void {
    const now = this.clock.now();
    const last = this.lastLogged.get(instance);
    if (last && now - last.at < LATE_TIMER_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (${last.suppressed} more late timer${last.suppressed > 1 ? 's' : ''} since the last report)` : '';
    this.lastLogged.set(instance, { at: now, suppressed: 0 });
    const line = (cause: string | undefined): void =>
      this.log.warn(`(${instance}) ${TIMER_NAMES[kind]} ran ${lateMs.toFixed(1)} ms late: ${cause ?? 'the VRRP process was blocked or waited for a CPU'}${more}`, { instance });
    const cause = this.explain(deadline, deadline + lateMs);
    if (cause instanceof Promise) {
      cause.then(line, () => line(undefined));
    } else {
      line(cause);
    }
  }
}
