// vrrp_track_process matching and quorum as pure functions (keepalived 2.2.7 track_process.c read_procs,
// check_process, check_params; vrrp_track.c initialise_process_tracking_priorities). The scanner that
// reads /proc is a thin adapter around them (daemon/process-tracker.ts).
import type { VrrpTrackProcess } from '../config/model.js';

/** One process as read from /proc/PID/stat (comm, state) and, when needed, /proc/PID/cmdline. */
export interface ProcessInfo {
  pid: number;
  /** /proc/PID/comm: the name, at most 15 characters. */
  comm: string;
  /** State Z: keepalived skips zombies (their cmdline is empty anyway). */
  zombie?: boolean | undefined;
  /** /proc/PID/cmdline as read: the arguments, each NUL-terminated. Undefined when not read. */
  cmdline?: string | undefined;
}

export type ProcessMatchSpec = Pick<VrrpTrackProcess, 'process' | 'params' | 'paramMatch' | 'fullCommand'>;
export type QuorumSpec = Pick<VrrpTrackProcess, 'quorum' | 'quorumMax'>;

/**
 * keepalived check_params: the process's arguments (after argv[0], NUL-terminated bytes) against the
 * configured ones: exact = the same; partial = the configured ones are the first arguments; initial =
 * the same, but the last configured argument need only be a prefix of the process's.
 */
function paramsMatch(spec: ProcessMatchSpec, actual: string): boolean {
  const want = spec.params.map((p) => `${p}\0`).join('');
  if (spec.paramMatch === 'exact' && want === '' && actual === '') return true;
  if (actual.length < want.length) return false;
  if (spec.paramMatch === 'exact') return actual === want;
  if (want === '') return true;
  if (spec.paramMatch === 'partial') return actual.startsWith(want);
  return want.length === 1 || actual.startsWith(want.slice(0, -1));
}

/** Whether a process counts for a vrrp_track_process: comm (or argv[0] with full_command) equals `process`. */
export function processMatches(spec: ProcessMatchSpec, p: ProcessInfo): boolean {
  if (p.zombie) return false;
  let name: string;
  let params = '';
  if (spec.fullCommand) {
    if (p.cmdline === undefined) return false;
    const nul = p.cmdline.indexOf('\0');
    name = nul < 0 ? p.cmdline : p.cmdline.slice(0, nul);
    params = nul < 0 ? '' : p.cmdline.slice(nul + 1);
  } else {
    name = p.comm;
  }
  if (name !== spec.process) return false;
  return spec.paramMatch === 'none' || paramsMatch(spec, params);
}

export function countProcesses(spec: ProcessMatchSpec, processes: readonly ProcessInfo[]): number {
  let n = 0;
  for (const p of processes) if (processMatches(spec, p)) n++;
  return n;
}

/** Up while quorum ≤ count ≤ quorum_max (keepalived have_quorum). */
export function haveQuorum(spec: QuorumSpec, count: number): boolean {
  return count >= spec.quorum && count <= spec.quorumMax;
}

/** "0 processes, quorum 1" / "3 processes, quorum 1-2": for logs and FAULT reasons. */
export function describeCount(spec: QuorumSpec, count: number): string {
  const q = spec.quorumMax >= 4294967295 ? `${spec.quorum}` : spec.quorum === spec.quorumMax ? `${spec.quorum}` : `${spec.quorum}-${spec.quorumMax}`;
  return `${count} process${count === 1 ? '' : 'es'}, quorum ${q}`;
}

/** Whether the scanner must read /proc/PID/cmdline (any tracker matching on the full command). */
export function needsCmdline(specs: readonly ProcessMatchSpec[]): boolean {
  return specs.some((s) => s.fullCommand);
}

/** /proc/PID/stat → comm and zombie state; undefined when malformed. comm may hold ')' (last ')' ends it). */
export function parseProcStat(pid: number, text: string): ProcessInfo | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  return { pid, comm: text.slice(open + 1, close), zombie: text.charAt(close + 2) === 'Z' };
}

/**
 * The quorum state after a new count (fork_delay / terminate_delay as keepalived applies them: a gain
 * or loss of quorum takes effect once it has lasted the delay). `pending` is the change waiting for
 * its delay; the adapter arms a timer for `pending.dueMs` and calls again then.
 */
export interface QuorumState {
  up: boolean;
  count: number;
  pending?: { up: boolean; dueMs: number } | undefined;
}

export function nextQuorumState(
  spec: QuorumSpec & Pick<VrrpTrackProcess, 'forkDelayMs' | 'terminateDelayMs'>,
  prev: QuorumState,
  count: number,
  nowMs: number,
): QuorumState {
  const want = haveQuorum(spec, count);
  if (want === prev.up) return { up: prev.up, count };
  const delay = want ? spec.forkDelayMs : spec.terminateDelayMs;
  const dueMs = prev.pending?.up === want ? prev.pending.dueMs : nowMs + delay;
  if (delay <= 0 || nowMs >= dueMs) return { up: want, count };
  return { up: prev.up, count, pending: { up: want, dueMs } };
}
