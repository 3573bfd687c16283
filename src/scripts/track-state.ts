// The pure state of one vrrp_script: keepalived's rise/fall counter (vrrp_scheduler.c,
// vrrp_script_child_thread) and the log lines it produces. No timers, no processes.
//
// keepalived keeps one integer `result` in [0, rise+fall-1]; the script is up when result >= rise.
//  - start: `init_fail` → result 0 (down from the start); otherwise result rise-1 and "init" (unknown):
//    one success is enough to be up, one failure to be down. Instances with a weight-0 tracker wait
//    for this first result before leaving INIT.
//  - success: below rise-1 count up; reaching rise logs "VRRP_Script(x) succeeded" and jumps to the top
//    (rise+fall-1), so `fall` consecutive failures are needed to go down again.
//  - failure: above rise count down; at rise (or while still init) logs
//    "VRRP_Script(x) failed (exited with status 1)" / "VRRP_Script(x) timed_out" /
//    "VRRP_Script(x) failed (due to signal 9)" and drops to 0, so `rise` successes are needed to go up.
//  - "Script `x` now returning N" whenever the exit code differs from the previous one (keepalived
//    starts from 0, so a first success is silent).
//  - reload: a script that was up stays up ("VRRP_Script(x) considered successful on reload", result
//    rise: one failure is enough to go down); one that was down stays down ("... unsuccessful ...").

export type TrackStatus = 'init' | 'up' | 'down';

export interface TrackCounterConfig {
  rise: number;
  fall: number;
  initFail: boolean;
}

/** How one run ended, as the runner saw it. */
export type RunOutcome =
  | { kind: 'exited'; code: number }
  /** Killed by a signal we did not send. */
  | { kind: 'signaled'; signal: number }
  /** We sent SIGTERM/SIGKILL after the timeout and the process died of it. */
  | { kind: 'timed_out' };

export interface TrackScriptState {
  readonly result: number;
  readonly status: TrackStatus;
  /** Exit code of the last run that exited (keepalived's last_status, starting at 0). */
  readonly lastExitCode: number;
}

export interface TrackStep {
  state: TrackScriptState;
  /** Set when the status changed (init→up, init→down, up→down, down→up). */
  transition?: { from: TrackStatus; to: 'up' | 'down' } | undefined;
  /** keepalived's log lines for this run, in order. */
  logs: string[];
}

export function initialTrackState(cfg: TrackCounterConfig): TrackScriptState {
  return cfg.initFail ? { result: 0, status: 'down', lastExitCode: 0 } : { result: cfg.rise - 1, status: 'init', lastExitCode: 0 };
}

/** State carried over a reload for a script that exists in both configurations. */
export function reloadedTrackState(cfg: TrackCounterConfig, name: string, previous: TrackStatus): { state: TrackScriptState; logs: string[] } {
  if (previous === 'up') {
    return { state: { result: cfg.rise, status: 'up', lastExitCode: 0 }, logs: [`VRRP_Script(${name}) considered successful on reload`] };
  }
  if (previous === 'down') {
    return { state: { result: 0, status: 'down', lastExitCode: 0 }, logs: [`VRRP_Script(${name}) considered unsuccessful on reload`] };
  }
  return { state: initialTrackState(cfg), logs: [] };
}

export function applyRunOutcome(state: TrackScriptState, cfg: TrackCounterConfig, name: string, outcome: RunOutcome): TrackStep {
  const logs: string[] = [];
  const top = cfg.rise + cfg.fall - 1;
  let { result, lastExitCode } = state;
  let status = state.status;
  let transition: TrackStep['transition'];

  let success: boolean;
  let failureText: string;
  switch (outcome.kind) {
    case 'exited':
      if (outcome.code !== lastExitCode) logs.push(`Script \`${name}\` now returning ${outcome.code}`);
      lastExitCode = outcome.code;
      success = outcome.code === 0;
      failureText = `VRRP_Script(${name}) failed (exited with status ${outcome.code})`;
      break;
    case 'signaled':
      success = false;
      failureText = `VRRP_Script(${name}) failed (due to signal ${outcome.signal})`;
      break;
    case 'timed_out':
      success = false;
      failureText = `VRRP_Script(${name}) timed_out`;
      break;
  }

  if (success) {
    if (result < cfg.rise - 1) {
      result++;
    } else if (result !== top) {
      if (result < cfg.rise) {
        logs.push(`VRRP_Script(${name}) succeeded`);
        transition = { from: status, to: 'up' };
        status = 'up';
      }
      result = top;
    }
  } else if (result > cfg.rise) {
    result--;
  } else {
    if (result === cfg.rise || status === 'init') {
      logs.push(failureText);
      transition = { from: status, to: 'down' };
      status = 'down';
    }
    result = 0;
  }
  return { state: { result, status, lastExitCode }, transition, logs };
}

/**
 * What a tracker in this status does to an instance (vrrp_track.c): a positive weight is added while
 * up, a negative one while down; `reverse` flips the sign ("the priority is decreased when up and
 * increased when down"). Weight 0 puts the instance in FAULT while down (while UP with reverse).
 * A tracker still in "init" has no effect yet, but a weight-0 one holds the instance in INIT.
 */
export function trackerEffect(status: TrackStatus, weight: number, reverse: boolean): { priorityDelta: number; fault: boolean; waiting: boolean } {
  if (status === 'init') return { priorityDelta: 0, fault: false, waiting: weight === 0 };
  const up = status === 'up';
  if (weight === 0) return { priorityDelta: 0, fault: reverse ? up : !up, waiting: false };
  const delta = up ? (weight > 0 ? weight : 0) : weight < 0 ? weight : 0;
  return { priorityDelta: reverse ? -delta : delta, fault: false, waiting: false };
}
