// Glue between the checkers' desired state and the kernel: coalesces bursts of 'desired' changes
// into one reconcile at a time (src/ipvs/reconcile.ts), deleting only the services this daemon
// owns (every service key it has ever desired), so foreign IPVS entries are left alone.

import { reconcile, serviceKeyId, type ReconcileClient, type ReconcileResult } from '../ipvs/reconcile.js';
import type { ServiceEntry, ServiceKey } from '../ipvs/types.js';

export interface IpvsSyncOptions {
  /** Drops entries not to program now (e.g. virtual servers whose VIP is not MASTER here). */
  filter?: (entry: ServiceEntry) => boolean;
  /** Narrows which owned services not desired now may be deleted (default: all of them). */
  mayDelete?: (key: ServiceKey) => boolean;
  /** `pass`: the number of the sync pass that produced it (see `passes`). */
  onResult?: (r: ReconcileResult, pass: number) => void;
  onError?: (err: unknown) => void;
}

export class IpvsSync {
  private readonly owned = new Map<string, ServiceKey>();
  private running: Promise<void> | undefined;
  private again = false;
  private started = 0;
  private latest: () => ServiceEntry[];

  constructor(
    private readonly client: ReconcileClient,
    desired: () => ServiceEntry[],
    private readonly opts: IpvsSyncOptions = {},
  ) {
    this.latest = desired;
  }

  /** Ask for a sync; concurrent requests coalesce. Resolves when the kernel matched the latest state. */
  request(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** How many sync passes have started (each reads the kernel and the desired rows afresh). */
  get passes(): number {
    return this.started;
  }

  /** The keys this daemon may delete. */
  ownedKeys(): ServiceKey[] {
    return [...this.owned.values()];
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const pass = ++this.started;
      const filter = this.opts.filter;
      const mayDelete = this.opts.mayDelete;
      const desired = filter ? this.latest().filter(filter) : this.latest();
      for (const e of this.latest()) this.owned.set(serviceKeyId(e.service.key), e.service.key);
      const owned = new Set(this.owned.keys());
      try {
        const result = await reconcile(this.client, desired, { owned: (key) => owned.has(serviceKeyId(key)) && (!mayDelete || mayDelete(key)) });
        this.opts.onResult?.(result, pass);
      } catch (err) {
        this.opts.onError?.(err);
      }
    } while (this.again);
  }
}
