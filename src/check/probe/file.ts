// FILE_CHECK (check_file.c, track_file.c): the tracked file holds a number (strtol base 0; a missing
// or empty file counts as 0, a number out of int32 range is ignored and the last value kept).
//  - weight 0: a non-zero value means down (with `reverse`, a zero value means down);
//  - weight W: up, and value*W (negated with `reverse`) is added to the real server's weight.
// keepalived reacts to inotify events; here the file is re-read at every delay_loop.

import { readFile } from 'node:fs/promises';
import { fail, guard, ok } from './common.js';
import type { FileCheckSpec, ProbeResult } from '../types.js';

/** C strtol(buf, NULL, 0) on the leading part of the text; NaN when the value is out of range. */
export function parseTrackFileValue(text: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text);
  if (!m) return 0;
  const sign = m[1] === '-' ? -1 : 1;
  const digits = m[2] as string;
  let value: number;
  if (/^0[xX]/.test(digits)) value = parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits.startsWith('0')) value = parseInt(digits.slice(1), 8);
  else value = parseInt(digits, 10);
  value *= sign;
  if (value < -2147483648 || value > 2147483648) return Number.NaN;
  return value;
}

/** The effect of a value on the checker. */
export function fileCheckResult(spec: FileCheckSpec, value: number): ProbeResult {
  if (spec.weight === 0) {
    const faulty = spec.reverse ? value === 0 : value !== 0;
    return faulty ? fail(`value ${value}`) : ok(`value ${value}`);
  }
  const delta = value * spec.weight * (spec.reverse ? -1 : 1);
  if (delta <= -2147483648) return fail(`value ${value}`);
  return ok(`value ${value}`, { weightDelta: delta });
}

const lastValues = new Map<string, number>();

export function probeFile(spec: FileCheckSpec, _signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    let text = '';
    try {
      const buf = await readFile(spec.path);
      text = buf.subarray(0, 127).toString('latin1');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return fail(`cannot read ${spec.path}: ${code}`);
    }
    let value = parseTrackFileValue(text);
    // keepalived: "Invalid number ... read from FILE - ignoring": the previous value stays.
    if (Number.isNaN(value)) value = lastValues.get(spec.path) ?? 0;
    lastValues.set(spec.path, value);
    return fileCheckResult(spec, value);
  });
}
