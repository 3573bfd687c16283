// vrrp_instance `promote_secondaries` (keepalived vrrp_if_config.c set/reset_promote_secondaries): sets
// net.ipv4.conf.IF.promote_secondaries on the instance's interface, so that removing the address that
// is primary in its subnet (a VIP can be) promotes the next one instead of deleting every secondary
// address of that subnet with it. Only an interface where it was 0 is changed, and lvskeeper puts back
// the 0 when no instance needs it any more (at reload) or at stop, as keepalived does at exit.
import { readFileSync, writeFileSync } from 'node:fs';
import type { VrrpInstance } from '../config/model.js';
import type { Logger } from '../log/logger.js';

export interface SysctlIo {
  read(path: string): string;
  write(path: string, value: string): void;
}

const nodeIo: SysctlIo = { read: (p) => readFileSync(p, 'utf8'), write: (p, v) => writeFileSync(p, v) };

const sysctlPath = (iface: string): string => `/proc/sys/net/ipv4/conf/${iface}/promote_secondaries`;

export class PromoteSecondaries {
  /** Interfaces where we turned it on. */
  private readonly ours = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly io: SysctlIo = nodeIo,
  ) {}

  /** At start and at each reload: the interfaces the instances want, and no more of ours. */
  apply(instances: readonly Pick<VrrpInstance, 'interface' | 'promoteSecondaries'>[]): void {
    const wanted = new Set(instances.filter((i) => i.promoteSecondaries && i.interface !== undefined).map((i) => i.interface!));
    for (const iface of wanted) {
      if (this.ours.has(iface)) continue;
      try {
        if (this.io.read(sysctlPath(iface)).trim() !== '0') continue; // already on: not ours to reset
        this.io.write(sysctlPath(iface), '1');
        this.ours.add(iface);
      } catch (e) {
        this.log.warn(`cannot set promote_secondaries on ${iface}: ${(e as Error).message}`);
      }
    }
    for (const iface of [...this.ours]) if (!wanted.has(iface)) this.reset(iface);
  }

  stop(): void {
    for (const iface of [...this.ours]) this.reset(iface);
  }

  private reset(iface: string): void {
    this.ours.delete(iface);
    try {
      this.io.write(sysctlPath(iface), '0');
    } catch {
      // The interface is gone, and its setting with it.
    }
  }
}
