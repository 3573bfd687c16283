// Kernel errno → IpvsError with ipvsadm's wording (ipvsadm libipvs/libipvs.c ipvs_strerror).
import { IpvsError, type IpvsOperation } from './types.js';

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENXIO: 6,
  E2BIG: 7,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ERANGE: 34,
  ENOBUFS: 105,
  EOPNOTSUPP: 95,
  ENOPROTOOPT: 92,
  EMSGSIZE: 90,
  ENOSYS: 38,
  EAFNOSUPPORT: 97,
  ETIMEDOUT: 110,
  EPROTO: 71,
} as const;

const ERRNO_NAME: Record<number, string> = Object.fromEntries(Object.entries(ERRNO).map(([k, v]) => [v, k]));

export function errnoName(errno: number): string {
  return ERRNO_NAME[errno] ?? `errno ${errno}`;
}

/** libipvs "function" each operation maps to, as ipvs_strerror keys its table. */
type LibFunc =
  | 'ipvs_init'
  | 'ipvs_add_service'
  | 'ipvs_update_service'
  | 'ipvs_del_service'
  | 'ipvs_zero_service'
  | 'ipvs_add_dest'
  | 'ipvs_update_dest'
  | 'ipvs_del_dest'
  | 'ipvs_start_daemon'
  | 'ipvs_stop_daemon'
  | 'ipvs_set_timeout'
  | 'ipvs_get_services'
  | 'ipvs_get_service'
  | 'ipvs_get_dests'
  | 'ipvs_get'
  | 'ipvs_flush';

const LIB_FUNC: Record<IpvsOperation, LibFunc> = {
  'add-service': 'ipvs_add_service',
  'edit-service': 'ipvs_update_service',
  'del-service': 'ipvs_del_service',
  'get-service': 'ipvs_get_service',
  'add-dest': 'ipvs_add_dest',
  'edit-dest': 'ipvs_update_dest',
  'del-dest': 'ipvs_del_dest',
  'get-dest': 'ipvs_get_dests',
  'start-daemon': 'ipvs_start_daemon',
  'stop-daemon': 'ipvs_stop_daemon',
  'get-daemon': 'ipvs_get',
  'set-timeout': 'ipvs_set_timeout',
  'get-timeout': 'ipvs_get',
  'get-info': 'ipvs_get',
  zero: 'ipvs_zero_service',
  flush: 'ipvs_flush',
  'resolve-family': 'ipvs_init',
};

// The table from libipvs.c ipvs_strerror(), in its order; a null function matches every operation.
const TABLE: ReadonlyArray<readonly [LibFunc | null, number, string]> = [
  ['ipvs_add_service', ERRNO.EEXIST, 'Service already exists'],
  ['ipvs_add_service', ERRNO.ENOENT, 'Scheduler or persistence engine not found'],
  ['ipvs_update_service', ERRNO.ESRCH, 'No such service'],
  ['ipvs_update_service', ERRNO.ENOENT, 'Scheduler or persistence engine not found'],
  ['ipvs_del_service', ERRNO.ESRCH, 'No such service'],
  ['ipvs_zero_service', ERRNO.ESRCH, 'No such service'],
  ['ipvs_add_dest', ERRNO.ESRCH, 'Service not defined'],
  ['ipvs_add_dest', ERRNO.EEXIST, 'Destination already exists'],
  ['ipvs_update_dest', ERRNO.ESRCH, 'Service not defined'],
  ['ipvs_update_dest', ERRNO.ENOENT, 'No such destination'],
  ['ipvs_del_dest', ERRNO.ESRCH, 'Service not defined'],
  ['ipvs_del_dest', ERRNO.ENOENT, 'No such destination'],
  ['ipvs_start_daemon', ERRNO.EEXIST, 'Daemon has already run'],
  ['ipvs_stop_daemon', ERRNO.ESRCH, 'No daemon is running'],
  ['ipvs_get_services', ERRNO.ESRCH, 'No such service'],
  ['ipvs_get_dests', ERRNO.ESRCH, 'No such service'],
  ['ipvs_get_service', ERRNO.ESRCH, 'No such service'],
  [null, ERRNO.EPERM, 'Permission denied (you must be root)'],
  [null, ERRNO.EINVAL, 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
  [null, ERRNO.ENOPROTOOPT, 'Protocol not available'],
  [null, ERRNO.ENOMEM, 'Memory allocation problem'],
  [null, ERRNO.EOPNOTSUPP, 'Operation not supported with IPv6'],
  [null, ERRNO.EAFNOSUPPORT, 'Operation not supported with specified address family'],
  [null, ERRNO.EMSGSIZE, 'Module is wrong version'],
];

/**
 * The message ipvsadm prints for a failed operation (without the "ipvsadm: " / "Memory allocation problem"
 * wrappers). Unknown errno → the C library's strerror text, as ipvsadm falls back to strerror().
 */
export function ipvsErrorMessage(err: Pick<IpvsError, 'op' | 'errno'>): string {
  const func = LIB_FUNC[err.op];
  for (const [f, errno, text] of TABLE) {
    if (errno === err.errno && (f === null || f === func)) return text;
  }
  return strerror(err.errno);
}

const STRERROR: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  3: 'No such process',
  4: 'Interrupted system call',
  6: 'No such device or address',
  7: 'Argument list too long',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  38: 'Function not implemented',
  90: 'Message too long',
  71: 'Protocol error',
  92: 'Protocol not available',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  105: 'No buffer space available',
  110: 'Connection timed out',
  34: 'Numerical result out of range',
};

export function strerror(errno: number): string {
  return STRERROR[errno] ?? `Unknown error ${errno}`;
}

export function makeIpvsError(op: IpvsOperation, errno: number, detail?: string): IpvsError {
  const base = ipvsErrorMessage({ op, errno });
  return new IpvsError(op, errno, detail ? `${base} (${detail})` : base);
}
