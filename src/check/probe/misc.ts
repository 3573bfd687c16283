// MISC_CHECK (check_misc.c): run misc_path; exit 0 = up, 1 = down; with misc_dynamic an exit of
// 2..255 = up with weight exit-2 (exit 0 keeps the configured weight). A run lasting longer than
// misc_timeout gets SIGTERM (to its process group, like keepalived's kill(-pid)), then SIGKILL 2 s
// later; a timed-out or signalled run is a failure.
// The command is split into arguments and executed directly; it goes through /bin/sh -c only
// when it contains shell syntax (pipes, redirections, variables, globs...).

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fail, guard, ok } from './common.js';
import type { MiscCheckSpec, ProbeResult } from '../types.js';

/** Grace period between SIGTERM and SIGKILL (keepalived: 2 s). */
export const MISC_KILL_GRACE_MS = 2000;

const SHELL_SYNTAX = /[|&;<>()$`*?[\]{}~!#]|\n/;

/** Split a command line like keepalived's set_script_params_array: whitespace, '…' and "…" quotes, \ escapes. */
export function splitCommand(cmd: string): string[] | undefined {
  const args: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < cmd.length) cur += cmd[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) args.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (quote) return undefined;
  if (has || cur) args.push(cur);
  return args;
}

/** Does the command need a shell? (shell syntax outside quotes) */
export function needsShell(cmd: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '$' && quote === '"') return true;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '\\') i++;
    else if (SHELL_SYNTAX.test(c)) return true;
  }
  return false;
}

function lookupId(file: string, name: string, field: number): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const parts = line.split(':');
      if (parts[0] === name && parts[field] !== undefined) return Number(parts[field]);
    }
  } catch {
    /* unreadable: unknown user */
  }
  return undefined;
}

/** Resolve `user NAME [GROUP]` to uid/gid (group defaults to the user's primary group). */
export function resolveUser(user: string, group?: string): { uid: number; gid?: number } | undefined {
  const uid = lookupId('/etc/passwd', user, 2);
  if (uid === undefined) return undefined;
  let gid = group !== undefined ? lookupId('/etc/group', group, 2) : lookupId('/etc/passwd', user, 3);
  if (group !== undefined && gid === undefined) return undefined;
  if (gid === undefined && /^\d+$/.test(user)) gid = undefined;
  return gid === undefined ? { uid } : { uid, gid };
}

export function probeMisc(spec: MiscCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(
    () =>
      new Promise<ProbeResult>((resolve) => {
        let file: string;
        let args: string[];
        if (needsShell(spec.path)) {
          file = '/bin/sh';
          args = ['-c', spec.path];
        } else {
          const parts = splitCommand(spec.path);
          if (!parts || parts.length === 0 || !parts[0]) {
            resolve(fail(`cannot parse misc_path "${spec.path}"`));
            return;
          }
          file = parts[0];
          args = parts.slice(1);
        }
        const ids = spec.user !== undefined ? resolveUser(spec.user, spec.group) : undefined;
        if (spec.user !== undefined && !ids) {
          resolve(fail(`unknown user ${spec.user}`));
          return;
        }
        let timedOut = false;
        let settled = false;
        const child = spawn(file, args, {
          stdio: 'ignore',
          detached: true, // own process group, so the whole script tree can be signalled
          ...(ids ? { uid: ids.uid, ...(ids.gid !== undefined ? { gid: ids.gid } : {}) } : {}),
        });
        const killGroup = (sig: NodeJS.Signals) => {
          if (child.pid === undefined) return;
          try {
            process.kill(-child.pid, sig);
          } catch {
            /* already gone */
          }
        };
        let killTimer: NodeJS.Timeout | undefined;
        const terminate = () => {
          timedOut = true;
          killGroup('SIGTERM');
          killTimer = setTimeout(() => killGroup('SIGKILL'), MISC_KILL_GRACE_MS);
        };
        const timer = setTimeout(terminate, spec.timeoutMs);
        const onAbort = () => terminate();
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = (r: ProbeResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          if (killTimer) clearTimeout(killTimer);
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        child.once('error', (err: NodeJS.ErrnoException) => settle(fail(`cannot run ${file}: ${err.code ?? err.message}`)));
        child.once('exit', (code, sig) => {
          // Make sure children of a terminated script die too (keepalived kills -pid with SIGKILL).
          if (timedOut) killGroup('SIGKILL');
          if (timedOut) {
            settle(fail(`timed out after ${spec.timeoutMs} ms`));
          } else if (sig) {
            settle(fail(`due to signal ${sig}`));
          } else if (code === 0) {
            settle(ok('exited with status 0'));
          } else if (spec.dynamic && code !== null && code >= 2 && code <= 255) {
            settle(ok(`exited with status ${code}`, { weight: code - 2 }));
          } else {
            settle(fail(`exited with status ${code}`));
          }
        });
      }),
  );
}
