// Reading the configuration in the daemon's processes: diagnostics logged with file:line at their
// severity, and the rule that decides whether a reload may go ahead.
import { existsSync, writeFileSync } from 'node:fs';
import type { Diagnostic, TrackFile } from '../config/index.js';
import type { Logger } from './log.js';

export function logDiagnostics(diagnostics: readonly Diagnostic[], log: Logger): void {
  for (const d of diagnostics) {
    const text = `${d.file}:${d.line}: ${d.message}`;
    if (d.severity === 'error') log.error(text);
    else if (d.severity === 'warning') log.warn(text);
    else log.info(text);
  }
}

/**
 * Whether a reload may go ahead: undefined when it may, else a one-line summary naming the first
 * blocking error's file:line. Blocking errors are those the running configuration did not already
 * have (compared without line numbers, which move with every edit): keepalived starts with errors
 * such as an unknown keyword (the seed's `nb_get_retry`), and refusing every later reload for them
 * would leave the operator unable to change anything; a newly introduced mistake is refused.
 */
export function configErrorSummary(diagnostics: readonly Diagnostic[], running: readonly Diagnostic[] = []): string | undefined {
  const known = new Map<string, number>();
  const key = (d: Diagnostic): string => `${d.file}\0${d.message}`;
  for (const d of running) if (d.severity === 'error') known.set(key(d), (known.get(key(d)) ?? 0) + 1);
  const blocking = diagnostics.filter((d) => {
    if (d.severity !== 'error') return false;
    const left = known.get(key(d)) ?? 0;
    if (left > 0) {
      known.set(key(d), left - 1);
      return false;
    }
    return true;
  });
  if (blocking.length === 0) return undefined;
  const first = blocking[0]!;
  const more = blocking.length > 1 ? ` (and ${blocking.length - 1} more error${blocking.length > 2 ? 's' : ''})` : '';
  return `${first.file}:${first.line}: ${first.message}${more}`;
}

/**
 * track_file's `init_file [VALUE] [overwrite]`: keepalived writes VALUE (default 0) to a missing file at
 * load, or to the file in any case with `overwrite`, so FILE_CHECK and tracking start from a known value.
 */
export function initTrackFiles(trackFiles: readonly TrackFile[], log: Logger): void {
  for (const t of trackFiles) {
    if (!t.initFile || (!t.initFile.overwrite && existsSync(t.path))) continue;
    try {
      writeFileSync(t.path, `${t.initFile.value}\n`);
    } catch (e) {
      log.error(`track_file ${t.name}: cannot initialise ${t.path}: ${(e as Error).message}`);
    }
  }
}
