// The network namespace and pid file names, as keepalived's main.c chooses them: `-s NAME` or the
// configuration's top-level `net_namespace NAME` (the command line wins, and says so), then `instance`
// and `use_pid_dir`. keepalived puts its pid files in /run/keepalived/[NAMESPACE/] as
// keepalived[_INSTANCE].pid, vrrp[_INSTANCE].pid, checkers[_INSTANCE].pid as soon as either a namespace
// or an instance name is set (or use_pid_dir); lvskeeper does the same under /run/lvskeeper, unless
// -p/-r/-c name the files.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadNative } from '../net/native.js';
import { DEFAULT_CHECKERS_PID_FILE, DEFAULT_PID_FILE, DEFAULT_VRRP_PID_FILE } from './process/pidfile.js';

export const PID_DIR = '/run/lvskeeper';

export interface PidFiles {
  pidFile: string;
  vrrpPidFile: string;
  checkersPidFile: string;
}

export interface PidLayout {
  namespace?: string | undefined;
  instance?: string | undefined;
  usePidDir?: boolean | undefined;
}

/** The pid files for a namespace / instance / use_pid_dir; a file given with -p/-r/-c is kept. */
export function pidFilesFor(given: PidFiles, layout: PidLayout): PidFiles {
  const { namespace, instance } = layout;
  if (namespace === undefined && instance === undefined && !layout.usePidDir) return given;
  const dir = namespace === undefined ? PID_DIR : join(PID_DIR, namespace);
  const name = (base: string): string => join(dir, `${base}${instance === undefined ? '' : `_${instance}`}.pid`);
  // Not named by -p/-r/-c: the default, or what -s alone made of it.
  const unnamed = (file: string, fallback: string, base: string): boolean => file === fallback || (namespace !== undefined && file === join(PID_DIR, namespace, `${base}.pid`));
  const pick = (file: string, fallback: string, base: string): string => (unnamed(file, fallback, base) ? name(base) : file);
  return {
    pidFile: pick(given.pidFile, DEFAULT_PID_FILE, 'lvskeeper'),
    vrrpPidFile: pick(given.vrrpPidFile, DEFAULT_VRRP_PID_FILE, 'vrrp'),
    checkersPidFile: pick(given.checkersPidFile, DEFAULT_CHECKERS_PID_FILE, 'checkers'),
  };
}

/**
 * Moves this (main) thread into /run/netns/NAME before any socket or child exists (children inherit
 * it). Returns a problem, or undefined once inside.
 */
export function enterNamespace(name: string): string | undefined {
  if (name === '' || name.includes('/') || name === '.' || name === '..') return `invalid name`;
  const path = join('/run/netns', name);
  const { addon, error } = loadNative();
  if (!addon) return error?.message ?? 'native addon missing';
  try {
    addon.enterNetworkNamespace(path);
    mkdirSync(join(PID_DIR, name), { recursive: true, mode: 0o755 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `${path} does not exist (ip netns add ${name})` : (e as Error).message;
  }
  return undefined;
}
