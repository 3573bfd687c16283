// ipvsadm's per-operation error wording (libipvs.c ipvs_strerror) for kernel errnos.
import { describe, expect, it } from 'vitest';
import { ipvsErrorMessage, makeIpvsError } from '../../../src/ipvs/errors.js';
import { ipvsErrorMessage as fromClient } from '../../../src/ipvs/client.js';
import { IpvsError, type IpvsOperation } from '../../../src/ipvs/types.js';

const table: Array<[IpvsOperation, number, string]> = [
  ['add-service', 17, 'Service already exists'],
  ['add-service', 2, 'Scheduler or persistence engine not found'],
  ['edit-service', 3, 'No such service'],
  ['edit-service', 2, 'Scheduler or persistence engine not found'],
  ['del-service', 3, 'No such service'],
  ['zero', 3, 'No such service'],
  ['add-dest', 3, 'Service not defined'],
  ['add-dest', 17, 'Destination already exists'],
  ['edit-dest', 3, 'Service not defined'],
  ['edit-dest', 2, 'No such destination'],
  ['del-dest', 3, 'Service not defined'],
  ['del-dest', 2, 'No such destination'],
  ['start-daemon', 17, 'Daemon has already run'],
  ['stop-daemon', 3, 'No daemon is running'],
  ['get-service', 3, 'No such service'],
  ['get-dest', 3, 'No such service'],
  ['flush', 1, 'Permission denied (you must be root)'],
  ['add-service', 22, 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
  ['resolve-family', 92, 'Protocol not available'],
  ['get-info', 12, 'Memory allocation problem'],
  ['add-dest', 95, 'Operation not supported with IPv6'],
  ['add-dest', 97, 'Operation not supported with specified address family'],
  ['get-info', 90, 'Module is wrong version'],
];

describe('ipvsErrorMessage', () => {
  it.each(table)('%s errno %i → %s', (op, errno, text) => {
    expect(ipvsErrorMessage(new IpvsError(op, errno, 'x'))).toBe(text);
  });

  it('is keyed by operation: the same errno reads differently per op', () => {
    expect(ipvsErrorMessage({ op: 'add-service', errno: 3 })).toBe('No such process'); // no entry → strerror
    expect(ipvsErrorMessage({ op: 'del-dest', errno: 17 })).toBe('File exists');
    expect(ipvsErrorMessage({ op: 'flush', errno: 110 })).toBe('Connection timed out');
    expect(ipvsErrorMessage({ op: 'flush', errno: 4242 })).toBe('Unknown error 4242');
  });

  it('is re-exported by the client module', () => {
    expect(fromClient).toBe(ipvsErrorMessage);
  });

  it('makeIpvsError builds the message, with an optional detail', () => {
    const e = makeIpvsError('del-service', 3, 'fwmark 9');
    expect(e).toBeInstanceOf(IpvsError);
    expect(e).toMatchObject({ op: 'del-service', errno: 3, message: 'No such service (fwmark 9)' });
  });
});
