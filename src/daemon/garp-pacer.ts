// global_defs vrrp_garp_interval / vrrp_gna_interval (keepalived vrrp_arp.c / vrrp_ndisc.c garp_delay):
// at most one gratuitous ARP (IPv4) or unsolicited NA (IPv6) per interval on each interface, whichever
// instances send them; the others wait their turn. Without an interval, sends go straight through.
import type { Announcer } from '../net/types.js';

export interface GarpIntervals {
  garpMs: number;
  gnaMs: number;
}

export class PacedAnnouncer implements Announcer {
  /** `family interface` → when the next message may go (performance.now() clock). */
  private readonly next = new Map<string, number>();
  private intervals: GarpIntervals;

  constructor(
    private readonly inner: Announcer,
    intervals: GarpIntervals,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.intervals = intervals;
  }

  /** At reload. */
  setIntervals(intervals: GarpIntervals): void {
    this.intervals = intervals;
  }

  async announce(interfaceName: string, vip: { family: 'inet' | 'inet6'; address: string }): Promise<void> {
    const interval = vip.family === 'inet' ? this.intervals.garpMs : this.intervals.gnaMs;
    if (interval <= 0) return this.inner.announce(interfaceName, vip);
    const key = `${vip.family} ${interfaceName}`;
    // Reserve the slot before waiting, so that concurrent callers queue in order.
    const at = Math.max(this.now(), this.next.get(key) ?? 0);
    this.next.set(key, at + interval);
    const wait = at - this.now();
    if (wait > 0) await this.sleep(wait);
    return this.inner.announce(interfaceName, vip);
  }

  close(): void {
    this.inner.close();
  }
}
