// vrrp_script, track_file and vrrp_track_process blocks: what instances and sync groups track
// (keepalived vrrp_parser.c, track_file.c, track_process.c).

import type { SourceLocation, TrackFile, VrrpScript, VrrpTrackProcess } from '../model.js';
import type { Keyword, KeywordTable } from '../engine.js';
import { readInt, readTimerMs, readUnsigned, TIMER_MAX_S } from '../values.js';
import { type ParseContext, table } from './context.js';

// vrrp_script

export function openScript(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const name = w[1] ?? '';
  if (name === '') ctx.fail('vrrp_script requires a name');
  ctx.script = {
    name,
    location: at,
    script: '',
    intervalMs: 1000,
    timeoutMs: 0,
    weight: 0,
    weightReverse: false,
    rise: 1,
    fall: 1,
    initFail: false,
  };
  ctx.scriptHasCommand = false;
}

export function closeScript(ctx: ParseContext): void {
  const s = ctx.script;
  ctx.script = undefined;
  if (s === undefined) return;
  if (!ctx.scriptHasCommand) {
    ctx.engine.error(`No script set for vrrp_script ${s.name} - removing`, undefined, s.location);
    return;
  }
  if (s.timeoutMs === 0) s.timeoutMs = s.intervalMs;
  ctx.config.vrrpScripts = ctx.config.vrrpScripts.filter((x) => x.name !== s.name);
  ctx.config.vrrpScripts.push(s);
  ctx.scriptLocations.set(s, true);
}

export function scriptTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (s: VrrpScript, w: string[], at: SourceLocation) => void): Keyword => ({
    handler: (w, at) => {
      if (ctx.script) fn(ctx.script, w, at);
    },
  });
  return table([
    [
      'script',
      on((s, w, at) => {
        // keepalived joins the words when the command is not quoted.
        const cmd = w.slice(1).join(' ');
        if (cmd.length === 0) return;
        s.script = cmd;
        s.location = s.location ?? at;
        ctx.scriptHasCommand = true;
        ctx.config.scriptCount++;
      }),
    ],
    ['interval', on((s, w) => (s.intervalMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail) ?? s.intervalMs))],
    ['timeout', on((s, w) => (s.timeoutMs = readTimerMs(w[1], 0.000001, TIMER_MAX_S, ctx.fail) ?? s.timeoutMs))],
    [
      'weight',
      on((s, w) => {
        const v = readInt(w[1], -253, 253, ctx.fail);
        if (v !== undefined) s.weight = v;
        if (w[2] === 'reverse') s.weightReverse = true;
        else if (w[2] !== undefined && w[2] !== 'noreverse') ctx.fail(`vrrp_script ${s.name} weight has unknown option ${w[2]}`);
      }),
    ],
    ['rise', on((s, w) => (s.rise = readUnsigned(w[1], 1, 2147483647, ctx.fail) ?? s.rise))],
    ['fall', on((s, w) => (s.fall = readUnsigned(w[1], 1, 2147483647, ctx.fail) ?? s.fall))],
    [
      'user',
      on((s, w) => {
        if (w[1] === undefined) return ctx.fail('user requires a name');
        const [u, gr] = w[1].includes(':') ? w[1].split(':', 2) : [w[1], w[2]];
        s.user = u;
        if (gr !== undefined) s.group = gr;
      }),
    ],
    ['init_fail', on((s) => (s.initFail = true))],
  ]);
}

// track_file

export function openTrackFile(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const name = w[1] ?? '';
  if (name === '') ctx.fail('track_file requires a name');
  ctx.trackFile = { name, path: '', weight: 1, weightReverse: false, location: at };
}

export function closeTrackFile(ctx: ParseContext): void {
  const t = ctx.trackFile;
  ctx.trackFile = undefined;
  if (t === undefined) return;
  if (t.path === '') {
    ctx.engine.error(`No file set for track_file ${t.name} - ignoring`);
    return;
  }
  ctx.config.trackFiles = [...ctx.config.trackFiles.filter((x) => x.name !== t.name), t];
}

/** keepalived's track_file.c keywords. */
export function trackFileTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (t: TrackFile, w: string[]) => void): Keyword => ({
    handler: (w) => {
      if (ctx.trackFile) fn(ctx.trackFile, w);
    },
  });
  return table([
    ['file', on((t, w) => (t.path = w[1] ?? t.path))],
    [
      'weight',
      on((t, w) => {
        const v = readInt(w[1], -254, 254, ctx.fail);
        if (v === undefined) {
          ctx.fail(`Weight (${w[1] ?? ''}) for track_file ${t.name} must be between [-254..254] inclusive. Ignoring...`);
          return;
        }
        t.weight = v;
        if (w[2] === 'reverse') t.weightReverse = true;
        else if (w[2] !== undefined && w[2] !== 'noreverse') ctx.fail(`track_file ${t.name} weight has unknown option ${w[2]}`);
      }),
    ],
    [
      'init_file',
      on((t, w) => {
        let value = 0;
        let i = 1;
        if (w[i] !== undefined && w[i] !== 'overwrite') {
          value = readInt(w[i], -2147483648, 2147483647, ctx.fail) ?? 0;
          i++;
        }
        t.initFile = { value, overwrite: w[i] === 'overwrite' };
      }),
    ],
  ]);
}

// vrrp_track_process

export function openTrackProcess(ctx: ParseContext, w: string[], at: SourceLocation): void {
  const name = w[1] ?? '';
  if (name === '') ctx.fail('vrrp_track_process requires a name');
  // keepalived alloc_vrrp_process: quorum 1, quorum_max UINT_MAX, weight 0.
  ctx.trackProcess = {
    name, location: at, process: '', params: [], paramMatch: 'none', fullCommand: false, quorum: 1, quorumMax: 4294967295,
    weight: 0, weightReverse: false, terminateDelayMs: 0, forkDelayMs: 0,
  };
}

export function closeTrackProcess(ctx: ParseContext): void {
  const t = ctx.trackProcess;
  ctx.trackProcess = undefined;
  if (t === undefined) return;
  if (t.process === '') {
    ctx.engine.error(`track process '${t.name}' process name not specified`, undefined, t.location);
    return;
  }
  ctx.config.vrrpTrackProcesses = [...(ctx.config.vrrpTrackProcesses ?? []).filter((x) => x.name !== t.name), t];
}

/** keepalived 2.2.7 vrrp_parser.c vrrp_tprocess_* keywords, with its messages. */
export function trackProcessTable(ctx: ParseContext): KeywordTable {
  const on = (fn: (t: VrrpTrackProcess, w: string[]) => void): Keyword => ({
    handler: (w) => {
      if (ctx.trackProcess) fn(ctx.trackProcess, w);
    },
  });
  const quiet = (): void => undefined;
  const delay = (prefix: string, set: (t: VrrpTrackProcess, ms: number) => void): Keyword =>
    on((t, w) => {
      const ms = readTimerMs(w[1], 0.000001, 3600, quiet);
      if (ms === undefined) return ctx.fail(`${prefix}delay (${w[1] ?? ''}) for vrrp_track_process ${t.name} must be between [0.000001..3600] inclusive. Ignoring...`);
      set(t, ms);
    });
  return table([
    [
      'process',
      on((t, w) => {
        if (t.process !== '') return ctx.fail(`Process already set for track process ${t.name} - ignoring ${w[1] ?? ''}`);
        if (w[1] === undefined) return ctx.fail('missing number');
        t.process = w[1];
        if (w.length > 2) {
          t.params = w.slice(2);
          if (t.paramMatch === 'none') t.paramMatch = 'exact';
          t.fullCommand = true;
        }
      }),
    ],
    [
      'param_match',
      on((t, w) => {
        // 2.2.7: no argument means exact; `exact` itself is not a keyword value.
        if (w[1] === undefined) t.paramMatch = 'exact';
        else if (w[1] === 'initial' || w[1] === 'partial') t.paramMatch = w[1];
        else return ctx.fail(`Invalid param_match type ${w[1]} - ignoring`);
        t.fullCommand = true;
      }),
    ],
    [
      'weight',
      on((t, w) => {
        if (w[1] === undefined) return ctx.fail(`No weight specified for track process ${t.name} - ignoring`);
        if (t.weight !== 0) return ctx.fail(`Weight already set for track process ${t.name} - ignoring ${w[1]}`);
        const v = readInt(w[1], -254, 254, quiet);
        if (v === undefined) return ctx.fail(`Weight (${w[1]}) for vrrp_track_process ${t.name} must be between [-254..254] inclusive. Ignoring...`);
        if (w[2] === 'reverse') t.weightReverse = true;
        else if (w[2] !== undefined) ctx.fail(`vrrp_track_process ${t.name} unknown weight option ${w[2]}`);
        t.weight = v;
      }),
    ],
    [
      'quorum',
      on((t, w) => {
        const v = readUnsigned(w[1], 1, 65535, quiet);
        if (v === undefined) return ctx.fail(`Quorum (${w[1] ?? ''}) for vrrp_track_process ${t.name} must be between [1..65535] inclusive. Ignoring...`);
        if (v > t.quorumMax) return ctx.fail('Quorum is greater than quorum_max - ignoring');
        t.quorum = v;
      }),
    ],
    [
      'quorum_max',
      on((t, w) => {
        const v = readUnsigned(w[1], 0, 65535, quiet);
        if (v === undefined) return ctx.fail(`quorum_max (${w[1] ?? ''}) for vrrp_track_process ${t.name} must be between [0..65535] inclusive. Ignoring...`);
        // quorum_max 0 (no such process may run) is allowed when quorum was not raised.
        if ((v !== 0 || t.quorum > 1) && v < t.quorum) return ctx.fail('quorum_max is less than quorum - ignoring');
        t.quorumMax = v;
        if (v === 0) t.quorum = 0;
        else if (t.quorum === 0) t.quorum = 1;
      }),
    ],
    ['delay', delay('', (t, ms) => (t.terminateDelayMs = t.forkDelayMs = ms))],
    ['terminate_delay', delay('terminate_', (t, ms) => (t.terminateDelayMs = ms))],
    ['fork_delay', delay('fork_', (t, ms) => (t.forkDelayMs = ms))],
    ['full_command', on((t) => (t.fullCommand = true))],
  ]);
}
