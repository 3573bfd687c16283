// MISC_CHECK (check_misc.c): run misc_path; exit 0 = up, 1 = down; with misc_dynamic an exit of
// 2..255 = up with weight exit-2 (exit 0 keeps the configured weight). A run lasting longer than
// misc_timeout gets SIGTERM (to its process group, like keepalived's kill(-pid)), then SIGKILL 2 s
// later; a timed-out or signalled run is a failure.
// The script was checked and its user resolved when the configuration was loaded, as keepalived's
// check_misc_script_security() does (from-config.ts, script-security.ts): spec.script is what passed,
// run as its user through spawn.ts, without a shell.

import { spawnScript } from '../../scripts/spawn.js';
import { fail, guard, ok } from './common.js';
import type { MiscCheckSpec, ProbeResult } from '../types.js';

/** Grace period between SIGTERM and SIGKILL (keepalived: 2 s). */
export const MISC_KILL_GRACE_MS = 2000;

export function probeMisc(spec: MiscCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    // Scripts that outlive the check must not hold a pipe to us; their exit status is all that counts.
    const run = spawnScript(spec.script, [], { captureStderr: false });
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      if (timedOut) return;
      timedOut = true;
      run.kill('SIGTERM');
      killTimer = setTimeout(() => run.kill('SIGKILL'), MISC_KILL_GRACE_MS);
    };
    const timer = setTimeout(terminate, spec.timeoutMs);
    signal.addEventListener('abort', terminate, { once: true });
    try {
      const exit = await run.exited;
      // Children of a terminated script die too (keepalived kills -pid with SIGKILL).
      if (timedOut) run.kill('SIGKILL');
      if (exit.spawnError) return fail(`cannot run ${spec.script.command.file}: ${exit.spawnError.code ?? exit.spawnError.message}`);
      if (timedOut) return fail(`timed out after ${spec.timeoutMs} ms`);
      if (exit.signal) return fail(`due to signal ${exit.signal}`);
      if (exit.code === 0) return ok('exited with status 0');
      if (spec.dynamic && exit.code !== null && exit.code >= 2 && exit.code <= 255) return ok(`exited with status ${exit.code}`, { weight: exit.code - 2 });
      return fail(`exited with status ${exit.code}`);
    } finally {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      signal.removeEventListener('abort', terminate);
    }
  });
}
