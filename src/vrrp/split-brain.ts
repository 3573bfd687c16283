// Split-brain detection for one VRRP instance. keepalived has none: two routers that drop each
// other's adverts (auth, advert_int, version: RFC 3768 §7.1 / RFC 5798 §7.1 "MUST discard") are both
// MASTER and it only logs the drop at INFO, rate-limited; a MASTER whose lower-priority peer never yields
// logs "forcing new election" forever. This detector names the peer and the difference once, at ERROR.
//
// Pure: fed with every advert heard for the instance's VRID (validation drops included, with their
// reason) and the instance's own view; time is passed in (ms, the instance's clock). It only observes:
// nothing here feeds back into the election (state-machine.ts keeps keepalived's rules).
//
// Rules (each advert with priority > 0 is a router claiming to be master, RFC 3768 §6.4.3):
//  - MASTER, adverts dropped for a configuration difference: suspected at the second identical one
//    (neither side will ever hear the other, so neither yields); likewise on becoming MASTER while such a
//    router advertised a moment ago (we took over because we ignore it);
//  - MASTER, accepted advert we do not yield to (lower priority, or equal and a lower address): normal for
//    an advert or two (the peer yields on our reply); suspected when the peer keeps advertising
//    (PERSIST_ADVERTS adverts over PERSIST_INTERVALS of our intervals);
//  - BACKUP, two sources advertising over the same PERSIST_INTERVALS: two masters (a preemption overlaps
//    by one advert at most);
//  - priority 0 (a master leaving, RFC 3768 §6.4.3 Shutdown) never counts: an accepted one ends that
//    peer's episode, a dropped one is ignored (it cannot be told from garbage).
// An episode is a run of the same advert (difference, priority, interval) from one source, and it counts
// once it is regular (two or more, about advert_int apart): a real router repeats itself at its
// advert_int (RFC 3768 §6.4.3), a stray, random or forged packet rarely does.
// A suspicion ends when the peer sent no such advert for END_INTERVALS of the longer of the two advert
// intervals (the Master_Down_Interval idea, RFC 3768 §6.1), when it sends priority 0, when we follow it
// as BACKUP, or when the instance leaves MASTER/BACKUP. Exception: a MASTER whose dropped peer has the
// longer advert_int; keepalived there is silent, not gone (see expire).
import type { Family } from '../net/types.js';
import { canonicalAddress } from './addr.js';
import type { VrrpVersion } from './packet.js';
import type { VrrpState } from './state-machine.js';
import type { AdvisoryReason, DropReason } from './validate.js';

/** A suspicion that lasts is logged again at most this often. */
export const SPLIT_BRAIN_REPEAT_MS = 60_000;
/** The suspicion ends after this many advert intervals (the longer of ours and the peer's) without a claim. */
export const SPLIT_BRAIN_END_INTERVALS = 3;
/** Accepted adverts a peer we do not yield to may send before it counts (it should yield on our reply). */
const PERSIST_ADVERTS = 3;
/**
 * A run of identical adverts is a router advertising when they come at least this share of its
 * advert_int apart (a master advertises every advert_int, RFC 3768 §6.4.3; keepalived's only ever later).
 */
const REGULAR_GAP = 0.9;
/** …and the span, in our advert intervals, they must cover (also: the overlap of two masters for a BACKUP). */
const PERSIST_INTERVALS = 2;
/** Peers tracked per instance (a flood of spoofed sources cannot grow the table). */
const MAX_PEERS = 16;

/** Drops that mean "a router claims this VRID with another configuration" (not garbage, not another segment). */
const CONFIG_DROPS: ReadonlySet<DropReason | AdvisoryReason> = new Set<DropReason | AdvisoryReason>([
  'version',
  'auth-type',
  'auth-pass',
  'ah-icv',
  'interval',
  'destination',
  'unknown-peer',
]);

export interface SplitBrainConfig {
  /** Instance name, for the "(VI_1) " prefix. */
  name: string;
  vrid: number;
  version: VrrpVersion;
  family: Family;
  /** Our advert_int, centiseconds. */
  advertIntCs: number;
  /** Our v2 auth type (0 none, 1 PASS, 2 AH). */
  authType: number;
  unicast: boolean;
  /** Our advert source: our own looped-back adverts are not a peer. */
  ownAddress?: string | undefined;
  /** Default SPLIT_BRAIN_REPEAT_MS. */
  repeatMs?: number | undefined;
}

/** One advert heard for our VRID, as far as its header could be read. */
export interface AdvertHeard {
  source: string;
  vrid: number;
  priority: number;
  /** Version nibble of the packet. */
  version: number;
  /** Its advert interval in centiseconds (v2: seconds × 100); 0 when unknown. */
  advertIntCs: number;
  /** v2 auth type field (0 for v3). */
  authType: number;
  /** True when validation dropped it. */
  dropped: boolean;
  /** The drop reason, or the advisory an accepted advert raised (VIP set, v3 interval); undefined: clean. */
  finding?: DropReason | AdvisoryReason | undefined;
}

/** The instance as it is after handling the advert. */
export interface OwnView {
  state: VrrpState;
  priority: number;
  /** BACKUP: the master we follow (source of the last accepted advert). */
  master?: string | undefined;
}

export interface SplitBrainSuspicion {
  /** The other router's address. */
  peer: string;
  /** What differs, in words ("auth_pass differs", "advert_int 2 s instead of 1 s"). */
  difference: string;
  /** When it started, on the clock passed in (ms). */
  since: number;
}

export interface SplitBrainEvent {
  kind: 'start' | 'repeat' | 'end';
  level: 'error' | 'notice';
  text: string;
  peer: string;
  difference: string;
}

interface PeerTrack {
  /** Our state while this episode was heard (a change of ours starts a new one). */
  role: VrrpState;
  first: number;
  last: number;
  count: number;
  intervalMs: number;
  /** The difference of its last advert, when it had one. */
  difference?: string | undefined;
  /** Its last advert was dropped for a configuration difference. */
  dropped: boolean;
  priority: number;
  advertIntCs: number;
}

interface Claim {
  peer: string;
  difference: string;
  intervalMs: number;
  /** When the peer last advertised. */
  heardAt: number;
  dropped: boolean;
  /** Adverts in the peer's episode so far. */
  adverts: number;
}

interface Active extends SplitBrainSuspicion {
  /** The peer's last advert that counted. */
  lastHeard: number;
  /** lastHeard, or later while the peer is muted by our adverts (see expire). */
  lastClaim: number;
  lastDropped: boolean;
  lastLog: number;
  adverts: number;
  peerIntervalMs: number;
}

const NONE: readonly SplitBrainEvent[] = Object.freeze([]);

/**
 * The header fields the detector needs, read straight from a VRRP message (O(1); also for adverts that
 * validation dropped, whose fields it does not return). Undefined when it is not a v2/v3 header.
 */
export function readAdvertHeader(
  payload: Buffer,
  source: string,
  dropped: boolean,
  finding: DropReason | AdvisoryReason | undefined,
): AdvertHeard | undefined {
  if (payload.length < 8) return undefined;
  const version = payload[0]! >> 4;
  if (version !== 2 && version !== 3) return undefined;
  return {
    source,
    vrid: payload[1]!,
    priority: payload[2]!,
    version,
    advertIntCs: version === 2 ? payload[5]! * 100 : payload.readUInt16BE(4) & 0x0fff,
    authType: version === 2 ? payload[4]! : 0,
    dropped,
    finding,
  };
}

/** Whether a validation result can matter to the detector (cheap pre-check before reading the header). */
export function relevantFinding(dropped: boolean, finding: DropReason | AdvisoryReason | undefined): boolean {
  return !dropped || (finding !== undefined && CONFIG_DROPS.has(finding));
}

const AUTH_NAMES: Record<number, string> = { 0: 'none', 1: 'PASS', 2: 'AH' };

function interval(cs: number): string {
  return cs % 100 === 0 ? `${cs / 100} s` : `${cs * 10} ms`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

export class SplitBrainDetector {
  private cfg: SplitBrainConfig;
  private ownKey: string | undefined;
  private readonly peers = new Map<string, PeerTrack>();
  private active: Active | undefined;
  private started = 0;
  /** When we last accepted an advert from another router (any priority). */
  private lastAcceptedAt = -Infinity;
  /** Source text → canonical form (the same few sources arrive again and again; parsing allocates). */
  private readonly keys = new Map<string, string>();

  constructor(cfg: SplitBrainConfig) {
    this.cfg = cfg;
    this.ownKey = cfg.ownAddress === undefined ? undefined : canonicalAddress(cfg.ownAddress, cfg.family);
  }

  /** Reload: the new configuration applies to the next adverts; a running suspicion goes on until they say otherwise. */
  reconfigure(cfg: SplitBrainConfig): void {
    this.cfg = cfg;
    this.ownKey = cfg.ownAddress === undefined ? undefined : canonicalAddress(cfg.ownAddress, cfg.family);
    this.keys.clear();
    // The episodes were judged against the old settings.
    this.peers.clear();
  }

  /** The current suspicion, if any. */
  get suspicion(): SplitBrainSuspicion | undefined {
    const a = this.active;
    return a && { peer: a.peer, difference: a.difference, since: a.since };
  }

  /** Suspicions started (a counter: metrics and status). */
  get events(): number {
    return this.started;
  }

  /** STATS_CLEAR. */
  clearCount(): void {
    this.started = 0;
  }

  private get ourIntervalMs(): number {
    return this.cfg.advertIntCs * 10;
  }

  private endWindowMs(peerIntervalMs: number): number {
    return SPLIT_BRAIN_END_INTERVALS * Math.max(this.ourIntervalMs, peerIntervalMs);
  }

  /** One advert heard for our VRID, with our view after the state machine handled it. */
  observe(h: AdvertHeard, own: OwnView, now: number): readonly SplitBrainEvent[] {
    let out: SplitBrainEvent[] | undefined;
    const emit = (e: SplitBrainEvent | undefined): void => {
      if (e) (out ??= []).push(e);
    };
    if (h.vrid !== this.cfg.vrid || !relevantFinding(h.dropped, h.finding)) {
      emit(this.expire(own, now));
      return out ?? NONE;
    }
    const key = this.key(h.source);
    if (key === this.ownKey) {
      emit(this.expire(own, now));
      return out ?? NONE;
    }
    const a = this.active;
    if (!h.dropped) this.lastAcceptedAt = now;
    if (h.priority === 0) {
      // A master leaving: never a claim, and the end of this peer's episode (if we could check it).
      if (h.dropped) {
        emit(this.expire(own, now));
        return out ?? NONE;
      }
      this.peers.delete(key);
      if (a && a.peer === key) emit(this.end(now, 'it left (priority 0)'));
      else emit(this.expire(own, now));
      return out ?? NONE;
    }
    if (own.state !== 'MASTER' && own.state !== 'BACKUP') {
      emit(this.expire(own, now));
      return out ?? NONE;
    }
    const t = this.track(key, h, own.state, now);
    if (own.state === 'BACKUP' && !h.dropped && own.master !== undefined && a?.peer === key && this.key(own.master) === key) {
      // We follow it now (we yielded, or our config was fixed): that split brain is over. A second
      // master, if any, is judged afresh by the BACKUP rule below.
      emit(this.end(now, 'we follow it as BACKUP now'));
    }
    emit(this.expire(own, now));
    const claim = own.state === 'MASTER' ? this.masterClaim(key, h, t, own) : this.backupClaim(key, t, own, now);
    if (claim) emit(this.claim(claim, now));
    emit(this.repeat(now));
    return out ?? NONE;
  }

  /**
   * Periodic check (the advert timer, a state change): ends a suspicion whose peer went quiet or that
   * our state no longer allows, and repeats a lasting one at most once per repeat period.
   */
  tick(own: OwnView, now: number): readonly SplitBrainEvent[] {
    const end = this.expire(own, now);
    if (end) return [end];
    const rep = this.repeat(now);
    return rep ? [rep] : NONE;
  }

  /** The instance just became MASTER (the tick of that transition). */
  becameMaster(own: OwnView, now: number): readonly SplitBrainEvent[] {
    if (this.active || own.state !== 'MASTER') return this.tick(own, now);
    const c = this.takeoverClaim(now);
    const start = c && this.claim(c, now);
    return start ? [start] : NONE;
  }

  /**
   * We are MASTER while a router whose adverts we drop was advertising as master a moment ago: we took
   * over because we ignore it. One advert is enough from a peer with a longer advert_int when it is the
   * only router we heard in our last Master_Down_Interval (3 intervals + Skew_Time < 4): we may have
   * heard just one of its adverts in it, and keepalived then falls silent (see expire).
   */
  private takeoverClaim(now: number): Claim | undefined {
    const recent = (SPLIT_BRAIN_END_INTERVALS + 1) * this.ourIntervalMs;
    for (const [k, t] of this.peers) {
      const age = now - t.last;
      const confirmed = this.regular(t) || (t.intervalMs > this.ourIntervalMs && age <= recent && now - this.lastAcceptedAt > recent);
      if (t.dropped && t.difference !== undefined && confirmed && age <= this.endWindowMs(t.intervalMs)) {
        return { peer: k, difference: t.difference, intervalMs: t.intervalMs, heardAt: t.last, dropped: true, adverts: t.count };
      }
    }
    return undefined;
  }

  private key(source: string): string {
    let k = this.keys.get(source);
    if (k === undefined) {
      if (this.keys.size >= 4 * MAX_PEERS) this.keys.clear();
      k = canonicalAddress(source, this.cfg.family);
      this.keys.set(source, k);
    }
    return k;
  }

  private track(key: string, h: AdvertHeard, role: VrrpState, now: number): PeerTrack {
    const intervalMs = h.advertIntCs > 0 ? h.advertIntCs * 10 : this.ourIntervalMs;
    const difference = h.finding === undefined ? undefined : this.describe(h);
    let t = this.peers.get(key);
    if (
      !t ||
      t.role !== role ||
      t.dropped !== h.dropped ||
      t.difference !== difference ||
      t.priority !== h.priority ||
      t.advertIntCs !== h.advertIntCs ||
      now - t.last > this.endWindowMs(t.intervalMs)
    ) {
      if (!t && this.peers.size >= MAX_PEERS) this.evict();
      t = { role, first: now, last: now, count: 1, intervalMs, difference, dropped: h.dropped, priority: h.priority, advertIntCs: h.advertIntCs };
      this.peers.set(key, t);
      return t;
    }
    t.last = now;
    t.count++;
    return t;
  }

  /** Two or more of the same advert, on average at least REGULAR_GAP of its advert_int apart. */
  private regular(t: PeerTrack): boolean {
    return t.count >= 2 && t.last - t.first >= REGULAR_GAP * t.intervalMs * (t.count - 1);
  }

  private evict(): void {
    for (const k of this.peers.keys()) {
      if (k !== this.active?.peer) {
        this.peers.delete(k);
        return;
      }
    }
  }

  /** MASTER: the advert is a claim we do not yield to (we are still MASTER after it). */
  private masterClaim(key: string, h: AdvertHeard, t: PeerTrack, own: OwnView): Claim | undefined {
    const ongoing = this.active?.peer === key;
    const confirmed = h.dropped
      ? this.regular(t)
      : this.regular(t) && t.count >= PERSIST_ADVERTS && t.last - t.first >= PERSIST_INTERVALS * this.ourIntervalMs;
    if (!ongoing && !confirmed) return undefined;
    return { peer: key, difference: t.difference ?? `priority ${h.priority}, ours ${own.priority}, and it does not yield`, intervalMs: t.intervalMs, heardAt: t.last, dropped: t.dropped, adverts: t.count };
  }

  /** BACKUP: this source and another one both advertise as master, over the same stretch of time. */
  private backupClaim(key: string, t: PeerTrack, own: OwnView, now: number): Claim | undefined {
    const master = own.master === undefined ? undefined : this.key(own.master);
    const activePeer = this.active?.peer;
    for (const [k, o] of this.peers) {
      if (k === key || o.role !== 'BACKUP' || now - o.last > this.endWindowMs(o.intervalMs)) continue;
      const ongoing = activePeer === key || activePeer === k;
      const overlap = Math.min(t.last, o.last) - Math.max(t.first, o.first);
      if (!ongoing && (overlap < PERSIST_INTERVALS * this.ourIntervalMs || !this.regular(t) || !this.regular(o))) continue;
      // The peer is the one we do not follow.
      const [peer, pt, other] = key === master || activePeer === k ? [k, o, key] : [key, t, k];
      // heardAt: the peer's own last advert (our master's adverts must not keep a stopped peer's claim alive).
      return { peer, difference: `${other} is master too${pt.difference ? `, ${pt.difference}` : ''}`, intervalMs: pt.intervalMs, heardAt: pt.last, dropped: pt.dropped, adverts: pt.count };
    }
    return undefined;
  }

  private claim(c: Claim, now: number): SplitBrainEvent | undefined {
    const { peer, difference, intervalMs, heardAt, dropped } = c;
    const a = this.active;
    if (a) {
      // One suspicion at a time; another peer is judged when this one ends.
      if (a.peer !== peer) return undefined;
      if (heardAt > a.lastHeard) {
        a.lastHeard = heardAt;
        a.adverts++;
      }
      if (heardAt > a.lastClaim) a.lastClaim = heardAt;
      a.lastDropped = dropped;
      a.peerIntervalMs = intervalMs;
      a.difference = difference;
      return undefined;
    }
    this.started++;
    this.active = { peer, difference, since: now, lastHeard: heardAt, lastClaim: heardAt, lastDropped: dropped, lastLog: now, adverts: c.adverts, peerIntervalMs: intervalMs };
    return {
      kind: 'start',
      level: 'error',
      text: `(${this.cfg.name}) split brain suspected: ${peer} also advertises VRID ${this.cfg.vrid} as master, ${difference}`,
      peer,
      difference,
    };
  }

  private repeat(now: number): SplitBrainEvent | undefined {
    const a = this.active;
    if (!a || now - a.lastLog < (this.cfg.repeatMs ?? SPLIT_BRAIN_REPEAT_MS)) return undefined;
    a.lastLog = now;
    const silent = now - a.lastHeard > this.endWindowMs(a.peerIntervalMs) ? `, silent for ${seconds(now - a.lastHeard)} as a keepalived master is while it hears adverts more often than its advert_int` : '';
    return {
      kind: 'repeat',
      level: 'error',
      text: `(${this.cfg.name}) split brain still suspected: ${a.peer} also advertises VRID ${this.cfg.vrid} as master, ${a.difference} (for ${seconds(now - a.since)}, ${a.adverts} adverts${silent})`,
      peer: a.peer,
      difference: a.difference,
    };
  }

  private expire(own: OwnView, now: number): SplitBrainEvent | undefined {
    const a = this.active;
    if (!a) return undefined;
    if (own.state !== 'MASTER' && own.state !== 'BACKUP') return this.end(now, `we are ${own.state} now`);
    // Silence is no proof here: keepalived 2.2.7 restarts a MASTER's advert timer on every packet it
    // receives, even one it drops (vrrp_scheduler.c vrrp_dispatcher_read → vrrp_init_instance_sands), so
    // while our adverts come more often than its advert_int it never advertises, and still holds the VIPs.
    if (own.state === 'MASTER' && a.lastDropped && a.peerIntervalMs > this.ourIntervalMs) a.lastClaim = now;
    const window = this.endWindowMs(a.peerIntervalMs);
    if (now - a.lastClaim > window) return this.end(now, `no claim from it for ${seconds(window)}`);
    return undefined;
  }

  private end(now: number, why: string): SplitBrainEvent | undefined {
    const a = this.active;
    if (!a) return undefined;
    this.active = undefined;
    return {
      kind: 'end',
      level: 'notice',
      text: `(${this.cfg.name}) split brain with ${a.peer} on VRID ${this.cfg.vrid} over after ${seconds(now - a.since)}: ${why}`,
      peer: a.peer,
      difference: a.difference,
    };
  }

  /** The difference an advert shows, in words (keepalived's keyword names). */
  private describe(h: AdvertHeard): string {
    const c = this.cfg;
    switch (h.finding) {
      case 'auth-pass':
      case 'ah-icv':
        return 'auth_pass differs';
      case 'auth-type':
        return `auth_type ${AUTH_NAMES[h.authType] ?? h.authType} instead of ${AUTH_NAMES[c.authType] ?? c.authType}`;
      case 'interval':
      case 'v3-interval':
        return `advert_int ${interval(h.advertIntCs)} instead of ${interval(c.advertIntCs)}`;
      case 'version':
        return `VRRP version ${h.version} instead of ${c.version}`;
      case 'destination':
        return c.unicast ? 'it sends multicast adverts, ours are unicast' : 'it sends unicast adverts, ours are multicast';
      case 'unknown-peer':
        return 'it is not one of our unicast_peer';
      case 'address-count':
      case 'address-list':
        return 'virtual_ipaddress set differs';
      default:
        return `${h.finding ?? 'unknown'} differs`;
    }
  }
}
