// Killing a script that outlives its timeout, one escalation for vrrp_script checks (track-script.ts) and
// notify scripts (notify.ts), as keepalived 2.2.7 kills a vrrp_script (vrrp_scheduler.c
// vrrp_script_child_thread) and its startup/shutdown scripts (main.c handle_child_timeout):
//   timeout        → SIGTERM to the script's process group ('terminating');
//   + killGraceMs  → SIGKILL to the group ('killing'; keepalived: 2 s);
//   + killGraceMs  → "failed to terminate after kill", SIGKILL again, and again every killGraceMs.
// A script that dies of the SIGTERM gets a SIGKILL to its group as well, for whatever it started.
import type { TimerClock } from './clock.js';
import type { RunningScript, ScriptExit } from './spawn.js';

export type TimeoutPhase = 'running' | 'terminating' | 'killing';

export interface ScriptTimeoutOptions {
  clock: TimerClock;
  timeoutMs: number;
  killGraceMs: number;
  /** The timeout passed: SIGTERM is being sent. */
  onTimedOut?: (() => void) | undefined;
  /** Still there a grace time after SIGKILL (each time); SIGKILL is sent again. */
  onKillFailed?: ((pid: number | undefined) => void) | undefined;
}

export class ScriptTimeout {
  private current: TimeoutPhase = 'running';
  private timer: unknown;
  private done = false;

  constructor(
    private readonly running: RunningScript,
    private readonly opts: ScriptTimeoutOptions,
  ) {
    this.timer = opts.clock.setTimeout(() => this.escalate(), opts.timeoutMs);
  }

  get phase(): TimeoutPhase {
    return this.current;
  }

  /**
   * The script exited: stop escalating. Returns whether it died of our signals (keepalived's
   * "timed_out"); after a SIGTERM death its process group gets a SIGKILL too.
   */
  settle(exit: ScriptExit): boolean {
    this.cancel();
    if (exit.spawnError || exit.code !== null) return false;
    const signal = exit.signal ?? 'SIGKILL';
    if (this.current === 'terminating' && signal === 'SIGTERM') {
      this.running.kill('SIGKILL');
      return true;
    }
    return this.current === 'killing' && (signal === 'SIGKILL' || signal === 'SIGTERM');
  }

  /** No more signals (the caller stopped caring, e.g. at stop). */
  cancel(): void {
    this.done = true;
    this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private escalate(): void {
    if (this.done) return;
    if (this.current === 'running') {
      this.current = 'terminating';
      this.opts.onTimedOut?.();
      this.running.kill('SIGTERM');
    } else if (this.current === 'terminating') {
      this.current = 'killing';
      this.running.kill('SIGKILL');
    } else {
      this.opts.onKillFailed?.(this.running.pid);
      if (this.done) return;
      this.running.kill('SIGKILL');
    }
    this.timer = this.opts.clock.setTimeout(() => this.escalate(), this.opts.killGraceMs);
  }
}
