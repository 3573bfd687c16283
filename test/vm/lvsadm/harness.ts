// Runs the real ipvsadm and lvsadm side by side inside the kernel VM.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { lvsadmMain } from '../../../src/cli/lvsadm/main.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
/** The command as installed (package.json "bin": the CommonJS bundle), else tsc's output. */
export const LVSADM: readonly string[] = existsSync(resolve(root, 'dist/lvsadm.cjs'))
  ? [process.execPath, resolve(root, 'dist/lvsadm.cjs')]
  : [process.execPath, resolve(root, 'dist/cli/lvsadm.js')];

export interface Result {
  stdout: string;
  stderr: string;
  status: number | null;
}

export function sh(command: string, input?: string): Result {
  const r = spawnSync('sh', ['-c', command], { input, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function ipvsadm(args: readonly string[], input?: string): Result {
  const r = spawnSync('ipvsadm', args, { input, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

// ipvsadm names itself by argv[0] in help and "Try ..." lines; lvsadm does the same
const rename = (s: string): string => s.replaceAll('lvsadm', 'ipvsadm');

/** The lvsadm command as a process (Node start-up included: used sparingly, it costs seconds in the VM). */
export function lvsadmProcess(args: readonly string[], input?: string): Result {
  const r = spawnSync(LVSADM[0]!, [...LVSADM.slice(1), ...args], { input, encoding: 'latin1', maxBuffer: 256 * 1024 * 1024 });
  return { stdout: rename(r.stdout), stderr: rename(r.stderr), status: r.status };
}

/** lvsadm's main in this process: the same code as the command minus process start-up. */
export async function lvsadm(args: readonly string[], input = '', connections?: string): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const status = await lvsadmMain(args, 'lvsadm', {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    stdin: () => input,
    connections: connections === undefined ? undefined : () => connections,
  });
  return { stdout: rename(stdout), stderr: rename(stderr), status };
}

/** Splits a command line at spaces (the scripts below need no quoting). */
export const words = (line: string): string[] => line.split(' ').filter((w) => w !== '');

/** The kernel tables as the real ipvsadm sees them (for "tables unchanged" checks). */
export function snapshot(): string {
  const a = ipvsadm(['-Sn']).stdout;
  const b = ipvsadm(['-L', '--timeout']).stdout;
  const c = ipvsadm(['-L', '--daemon']).stdout;
  return a + b + c;
}
