// The IPVS generic-netlink client: one long-lived NETLINK_GENERIC socket, requests pipelined by sequence number.
// Every byte of the protocol lives in codec.ts; this module only sends, receives and matches replies.
import type { IpvsOp } from './ops.js';
import {
  IpvsError,
  type Destination,
  type Info,
  type IpvsApi,
  type Service,
  type ServiceEntry,
  type ServiceKey,
  type SyncDaemon,
  type Timeouts,
} from './types.js';
import { ipvsErrorMessage } from './errors.js';

export { ipvsErrorMessage };
export type { IpvsOp };

export interface OpenIpvsOptions {
  /** Time without any reply after which a request fails with ETIMEDOUT (default 5000 ms). */
  timeoutMs?: number;
  /** Requests in flight at once in apply() (default 256). */
  window?: number;
  /** Run `modprobe ip_vs` once if the IPVS family is unknown (default true). */
  modprobe?: boolean;
}

export class IpvsClient implements IpvsApi {
  private constructor() {}

  /** @internal */
  static async open(_options: OpenIpvsOptions = {}): Promise<IpvsClient> {
    throw new IpvsError('resolve-family', 38, 'IPVS client not implemented yet');
  }

  /**
   * Sends every op (each with its own sequence number and an ACK request) without waiting for the previous
   * ACK, and returns one entry per op, in order: undefined when the kernel accepted it, else its IpvsError.
   * Never rejects because of a kernel error; rejects only if the client is closed.
   */
  async apply(_ops: readonly IpvsOp[]): Promise<Array<IpvsError | undefined>> {
    throw new IpvsError('flush', 38, 'not implemented');
  }

  /** Every service with its destinations: one GET_SERVICE dump, then one GET_DEST dump per service. */
  async getAll(): Promise<ServiceEntry[]> {
    throw new IpvsError('get-service', 38, 'not implemented');
  }

  async getInfo(): Promise<Info> {
    throw new IpvsError('get-info', 38, 'not implemented');
  }
  async getServices(): Promise<Service[]> {
    throw new IpvsError('get-service', 38, 'not implemented');
  }
  async getService(_key: ServiceKey): Promise<Service> {
    throw new IpvsError('get-service', 38, 'not implemented');
  }
  async getDestinations(_key: ServiceKey): Promise<Destination[]> {
    throw new IpvsError('get-dest', 38, 'not implemented');
  }
  async addService(service: Service): Promise<void> {
    await this.one({ op: 'add-service', service });
  }
  async editService(service: Service): Promise<void> {
    await this.one({ op: 'edit-service', service });
  }
  async delService(key: ServiceKey): Promise<void> {
    await this.one({ op: 'del-service', key });
  }
  async addDestination(key: ServiceKey, dest: Destination): Promise<void> {
    await this.one({ op: 'add-dest', key, dest });
  }
  async editDestination(key: ServiceKey, dest: Destination): Promise<void> {
    await this.one({ op: 'edit-dest', key, dest });
  }
  async delDestination(key: ServiceKey, dest: Pick<Destination, 'family' | 'address' | 'port'>): Promise<void> {
    await this.one({ op: 'del-dest', key, dest });
  }
  async getTimeouts(): Promise<Timeouts> {
    throw new IpvsError('get-timeout', 38, 'not implemented');
  }
  async setTimeouts(timeouts: Timeouts): Promise<void> {
    await this.one({ op: 'set-timeout', timeouts });
  }
  async getDaemons(): Promise<SyncDaemon[]> {
    throw new IpvsError('get-daemon', 38, 'not implemented');
  }
  async startDaemon(daemon: SyncDaemon): Promise<void> {
    await this.one({ op: 'start-daemon', daemon });
  }
  async stopDaemon(state: SyncDaemon['state']): Promise<void> {
    await this.one({ op: 'stop-daemon', state });
  }
  async zero(key?: ServiceKey): Promise<void> {
    await this.one({ op: 'zero', key });
  }
  async flush(): Promise<void> {
    await this.one({ op: 'flush' });
  }
  close(): void {}

  private async one(op: IpvsOp): Promise<void> {
    const [err] = await this.apply([op]);
    if (err) throw err;
  }
}

/** Opens a netlink socket and resolves the IPVS family (modprobe ip_vs once if it is unknown). */
export function openIpvs(options: OpenIpvsOptions = {}): Promise<IpvsClient> {
  return IpvsClient.open(options);
}
