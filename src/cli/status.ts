// `lvskeeper status [--json] [--watch] [-p PIDFILE | -s NAMESPACE | --control PATH]`: who is MASTER
// and why, read from the running daemon's control socket (src/daemon/process/control.ts).
//
// Exit codes, for scripts: 0 the daemon answered; 1 it answered with an error or the answer could not
// be read; 2 usage; 3 not running (no socket, or nobody listening); 4 not allowed (the socket is root only).
import { connect } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { controlSocketPath, type WatchEvent } from '../daemon/process/control.js';
import { DEFAULT_PID_FILE } from '../daemon/process/pidfile.js';
import type { InstanceStatus, StatusSnapshot, VirtualServerStatus } from '../daemon/status/model.js';

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;
export const STATUS_USAGE = 2;
export const STATUS_NOT_RUNNING = 3;
export const STATUS_NOT_ALLOWED = 4;

export interface StatusIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: () => number;
}

const USAGE = `Usage: lvskeeper status [--json] [--watch] [-p PIDFILE | -s NAMESPACE | --control PATH]
  --json        the status as JSON (docs/status.schema.json); with --watch, one JSON event per line
  --watch       follow state changes, reloads and respawns as they happen
  -p, --pid     the daemon's pid file, as given to it (its control socket is beside it)
  -s, --namespace  the daemon started with -s NAMESPACE
  --control     the control socket's path
`;

export async function runStatus(argv: string[], io: StatusIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        json: { type: 'boolean' },
        watch: { type: 'boolean' },
        pid: { type: 'string', short: 'p' },
        namespace: { type: 'string', short: 's' },
        control: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    io.stderr(`lvskeeper status: ${(e as Error).message}\n${USAGE}`);
    return STATUS_USAGE;
  }
  if (values.help) {
    io.stdout(USAGE);
    return STATUS_OK;
  }
  const pidFile = values.pid ?? (values.namespace !== undefined ? join('/run/lvskeeper', values.namespace, 'lvskeeper.pid') : DEFAULT_PID_FILE);
  const path = values.control ?? controlSocketPath(pidFile);
  const now = io.now ?? Date.now;
  if (values.watch) {
    return request(path, 'watch', io, (line) => {
      if (values.json) io.stdout(`${line}\n`);
      else {
        const ev = JSON.parse(line) as WatchEvent | { kind: 'watch' };
        if (ev.kind !== 'watch') io.stdout(`${clock((ev as WatchEvent).at)} ${(ev as WatchEvent).text}\n`);
      }
    });
  }
  return request(path, 'status', io, (line) => {
    const answer = JSON.parse(line) as StatusSnapshot | { error: string };
    if ('error' in answer) throw new Error(answer.error);
    io.stdout(values.json ? `${JSON.stringify(answer, null, 2)}\n` : renderStatus(answer, now()));
  });
}

/** Sends `command`, hands each answer line to `onLine`; resolves with the exit code. */
function request(path: string, command: string, io: StatusIo, onLine: (line: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(path);
    let buffered = '';
    let code = STATUS_OK;
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          onLine(line);
        } catch (e) {
          io.stderr(`lvskeeper status: ${(e as Error).message}\n`);
          code = STATUS_ERROR;
          socket.destroy();
        }
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') {
        io.stderr(`lvskeeper is not running (no daemon listening on ${path})\n`);
        code = STATUS_NOT_RUNNING;
      } else if (e.code === 'EACCES' || e.code === 'EPERM') {
        io.stderr(`lvskeeper status: ${path}: permission denied (the control socket is root only)\n`);
        code = STATUS_NOT_ALLOWED;
      } else {
        io.stderr(`lvskeeper status: ${path}: ${e.message}\n`);
        code = STATUS_ERROR;
      }
    });
    socket.on('close', () => resolve(code));
  });
}

function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** "3h05m", "42s": how long ago, short. */
export function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

function instanceLines(i: InstanceStatus, now: number): string[] {
  const prio = i.priorityChanges.length === 0 ? `priority ${i.effectivePriority}` : `priority ${i.effectivePriority} (base ${i.basePriority}: ${i.priorityChanges.map((c) => `${c.tracker} ${c.delta === null ? 'FAULT' : c.delta > 0 ? `+${c.delta}` : c.delta}`).join(', ')})`;
  const where = `vrid ${i.vrid}${i.interface ? ` on ${i.interface}` : ''}`;
  const lines = [`  ${i.name}: ${i.state} for ${ago(now - i.since)}, ${where}, ${prio}`];
  const master = i.state === 'MASTER' ? 'this node' : (i.masterAddress ?? 'unknown');
  lines.push(`    master ${master}; VIPs ${i.vips.join(' ') || 'none'} ${i.vipsPresent ? 'present here' : 'not here'}`);
  if (i.lastTransition) lines.push(`    last change ${ago(now - i.lastTransition.at)} ago: ${i.lastTransition.from} -> ${i.lastTransition.to}, ${i.lastTransition.reason}`);
  if (i.splitBrain) lines.push(`    SPLIT BRAIN suspected for ${ago(now - i.splitBrain.since)}: ${i.splitBrain.peer}, ${i.splitBrain.difference}`);
  return lines;
}

function virtualServerLines(v: VirtualServerStatus, now: number): string[] {
  const lines = [`  ${v.label}: ${v.programmedHere ? 'in IPVS here' : 'not in IPVS here'} (${v.why}), quorum ${v.quorumUp ? 'up' : 'DOWN'}${v.stats ? `, ${v.stats.connections} connections` : ''}`];
  for (const r of v.realServers) {
    const since = r.since !== undefined ? ` for ${ago(now - r.since)}` : '';
    const state = r.alive ? `alive${since}` : `FAILED${since}${r.lastError ? `: ${r.lastError}` : ''}`;
    const kernel = r.kernelWeight !== undefined ? `weight ${r.kernelWeight} in IPVS` : 'not in IPVS';
    lines.push(`    ${r.address.includes(':') ? `[${r.address}]` : r.address}:${r.port} ${state}, ${kernel}`);
  }
  return lines;
}

/** The few screen lines an operator reads at 3 a.m. */
export function renderStatus(s: StatusSnapshot, now: number): string {
  const d = s.daemon;
  const out = [
    `lvskeeper ${d.version}, pid ${d.pid}, up ${ago(now - d.startedAt)}, ${d.configFile}${d.routerId ? ` (router_id ${d.routerId})` : ''}; reloads ${d.reloads.ok} ok, ${d.reloads.refused} refused; respawns vrrp ${d.childRespawns.vrrp}, checker ${d.childRespawns.checker}`,
  ];
  if (s.instances.length > 0) out.push('VRRP instances:', ...s.instances.flatMap((i) => instanceLines(i, now)));
  if (s.syncGroups.length > 0) out.push('Sync groups:', ...s.syncGroups.map((g) => `  ${g.name}: ${g.state} (${g.instances.join(', ')})`));
  if (s.trackers.length > 0) out.push('Tracked:', ...s.trackers.map((t) => `  ${t.kind} ${t.name}: ${t.result}`));
  if (s.virtualServers.length > 0) out.push('Virtual servers:', ...s.virtualServers.flatMap((v) => virtualServerLines(v, now)));
  return `${out.join('\n')}\n`;
}
