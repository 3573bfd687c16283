// vrrp_track_process matching and quorum (keepalived 2.2.7 track_process.c check_params / read_procs).
import { describe, expect, it } from 'vitest';
import type { VrrpTrackProcess } from '../../../src/config/model.js';
import { countProcesses, describeCount, haveQuorum, nextQuorumState, parseProcStat, processMatches, type ProcessInfo } from '../../../src/vrrp/track-process.js';

const spec = (over: Partial<VrrpTrackProcess> = {}): VrrpTrackProcess => ({
  name: 'tp', location: { file: 'k.conf', line: 1 }, process: 'sleep', params: [], paramMatch: 'none', fullCommand: false,
  quorum: 1, quorumMax: 4294967295, weight: 0, weightReverse: false, terminateDelayMs: 0, forkDelayMs: 0, ...over,
});
const proc = (pid: number, comm: string, argv?: string[], zombie = false): ProcessInfo => ({
  pid, comm, zombie, cmdline: argv?.map((a) => `${a}\0`).join(''),
});

describe('processMatches', () => {
  it('by comm without full_command; argv and paths do not matter', () => {
    expect(processMatches(spec(), proc(1, 'sleep', ['/bin/sleep', '5']))).toBe(true);
    expect(processMatches(spec(), proc(1, 'sleeper'))).toBe(false);
    expect(processMatches(spec({ process: '/bin/sleep' }), proc(1, 'sleep', ['/bin/sleep']))).toBe(false);
  });
  it('zombies never count', () => {
    expect(processMatches(spec(), proc(1, 'sleep', undefined, true))).toBe(false);
  });
  it('full_command compares argv[0] exactly, ignoring the arguments when no param_match', () => {
    const s = spec({ process: '/bin/sleep', fullCommand: true });
    expect(processMatches(s, proc(1, 'sleep', ['/bin/sleep', '100']))).toBe(true);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '100']))).toBe(false);
    expect(processMatches(s, proc(1, 'sleep'))).toBe(false); // cmdline not read
  });
  it('exact: the same arguments, no more, no fewer', () => {
    const s = spec({ process: 'sleep', params: ['100', 'x'], paramMatch: 'exact', fullCommand: true });
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '100', 'x']))).toBe(true);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '100', 'x', 'y']))).toBe(false);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '100']))).toBe(false);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '100', 'xx']))).toBe(false);
    // exact with no arguments configured: only a process without arguments
    const none = spec({ paramMatch: 'exact', fullCommand: true });
    expect(processMatches(none, proc(1, 'sleep', ['sleep']))).toBe(true);
    expect(processMatches(none, proc(1, 'sleep', ['sleep', '1']))).toBe(false);
  });
  it('partial: the configured arguments come first, whole', () => {
    const s = spec({ params: ['100'], paramMatch: 'partial', fullCommand: true });
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '100', 'more']))).toBe(true);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', '1000']))).toBe(false);
    expect(processMatches(spec({ paramMatch: 'partial', fullCommand: true }), proc(1, 'sleep', ['sleep', 'anything']))).toBe(true);
  });
  it('initial: the last configured argument need only be a prefix', () => {
    const s = spec({ params: ['a', '10'], paramMatch: 'initial', fullCommand: true });
    expect(processMatches(s, proc(1, 'sleep', ['sleep', 'a', '1000']))).toBe(true);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', 'a', '10', 'z']))).toBe(true);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', 'ab', '10']))).toBe(false);
    expect(processMatches(s, proc(1, 'sleep', ['sleep', 'a', '2']))).toBe(false);
  });
});

describe('quorum', () => {
  const list = [proc(1, 'nginx'), proc(2, 'nginx'), proc(3, 'nginx', undefined, true), proc(4, 'sshd')];
  it('counts the matching processes; up within [quorum, quorum_max]', () => {
    const s = spec({ process: 'nginx', quorum: 2, quorumMax: 3 });
    expect(countProcesses(s, list)).toBe(2);
    expect(haveQuorum(s, 1)).toBe(false);
    expect(haveQuorum(s, 2)).toBe(true);
    expect(haveQuorum(s, 3)).toBe(true);
    expect(haveQuorum(s, 4)).toBe(false);
    // quorum_max 0 (quorum 0): up while no such process runs
    expect(haveQuorum(spec({ quorum: 0, quorumMax: 0 }), 0)).toBe(true);
    expect(haveQuorum(spec({ quorum: 0, quorumMax: 0 }), 1)).toBe(false);
  });
  it('describes the count', () => {
    expect(describeCount(spec(), 0)).toBe('0 processes, quorum 1');
    expect(describeCount(spec({ quorum: 2, quorumMax: 3 }), 1)).toBe('1 process, quorum 2-3');
  });
  it('terminate_delay / fork_delay: a change takes effect once it has lasted the delay', () => {
    const s = spec({ terminateDelayMs: 500, forkDelayMs: 200 });
    let st = nextQuorumState(s, { up: true, count: 1 }, 0, 1000);
    expect(st).toEqual({ up: true, count: 0, pending: { up: false, dueMs: 1500 } });
    st = nextQuorumState(s, st, 0, 1400);
    expect(st.up).toBe(true);
    st = nextQuorumState(s, st, 0, 1500);
    expect(st).toEqual({ up: false, count: 0 });
    // back before fork_delay: the gain is cancelled
    st = nextQuorumState(s, st, 1, 2000);
    expect(st.pending).toEqual({ up: true, dueMs: 2200 });
    st = nextQuorumState(s, st, 0, 2100);
    expect(st).toEqual({ up: false, count: 0 });
    // no delay: at once
    expect(nextQuorumState(spec(), { up: true, count: 1 }, 0, 0)).toEqual({ up: false, count: 0 });
  });
});

describe('parseProcStat', () => {
  it('reads comm (which may hold spaces and parentheses) and the zombie state', () => {
    expect(parseProcStat(42, '42 (my (odd) name) S 1 42 42 0 -1')).toEqual({ pid: 42, comm: 'my (odd) name', zombie: false });
    expect(parseProcStat(43, '43 (sleep) Z 1 43')).toMatchObject({ comm: 'sleep', zombie: true });
    expect(parseProcStat(44, 'garbage')).toBeUndefined();
  });
});
