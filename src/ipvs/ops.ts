// One IPVS write operation as plain data: the unit of IpvsClient.apply() (pipelined) and of the reconciler's plan.
import type { Destination, IpvsOperation, Service, ServiceKey, SyncDaemon, Timeouts } from './types.js';

export type DestinationKey = Pick<Destination, 'family' | 'address' | 'port'>;

export type IpvsOp =
  | { op: 'add-service'; service: Service }
  | { op: 'edit-service'; service: Service }
  | { op: 'del-service'; key: ServiceKey }
  | { op: 'add-dest'; key: ServiceKey; dest: Destination }
  | { op: 'edit-dest'; key: ServiceKey; dest: Destination }
  | { op: 'del-dest'; key: ServiceKey; dest: DestinationKey }
  | { op: 'set-timeout'; timeouts: Timeouts }
  | { op: 'start-daemon'; daemon: SyncDaemon }
  | { op: 'stop-daemon'; state: SyncDaemon['state'] }
  | { op: 'zero'; key?: ServiceKey | undefined }
  | { op: 'flush' };

/** The IpvsOperation an op reports in IpvsError.op (same spelling by construction). */
export function operationOf(op: IpvsOp): IpvsOperation {
  return op.op;
}
