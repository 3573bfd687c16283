// The messages between the lvskeeper parent and its VRRP and checker children.
//
//   VRRP child ──instance-state──► parent ──instance-state──► checker child
//   (the checker installs a virtual server whose address is a VIP only while its instance is
//   MASTER, unless lvs_program_on_all_nodes; a respawned checker first gets an instance-states
//   snapshot so it never waits a full advert interval to learn who is MASTER)
//   checker child ──ipvs-staged──► parent ──ipvs-staged──► VRRP child
//   (the rows of every MASTER-gated virtual server, kept current by the checker, so that the VRRP
//   child installs them itself before it adds the VIPs; a respawned VRRP child gets them all at once)
//   parent ──reload──► children (SIGHUP on the parent) ──reload-done──► parent (READY=1 after all)
//   parent ──dump──► children (USR1/USR2/STATS_CLEAR/JSON on the parent); requests get the data back
//   child ──ready──► parent once initialised (parent sends READY=1 to systemd after all are ready)

import type { AddressFamily } from '../../config/model.js';
import type { IpvsOp } from '../../ipvs/ops.js';
import type { Message } from './ipc.js';

export type InstanceState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP' | 'DELETED';

export interface InstanceStateMessage {
  type: 'instance-state';
  instance: string;
  vrid: number;
  family: AddressFamily;
  interface?: string | undefined;
  state: InstanceState;
  /** The instance's VIPs (addresses only), so the checker can match virtual servers to instances. */
  vips: string[];
  /** Milliseconds since the epoch at the change. */
  at: number;
  /** The state before and why it changed (keepalived's reasons), for status --watch. */
  from?: InstanceState | undefined;
  reason?: string | undefined;
}

/** One MASTER-gated virtual server, as the VRRP child installs it before its instance's VIPs. */
export interface StagedService {
  /** serviceKeyId of the virtual server. */
  id: string;
  /** The instances whose MASTER state installs it; empty: no longer staged. */
  owners: string[];
  /** add-service then add-dest ops: the rows the checkers want in the kernel now. */
  ops: IpvsOp[];
}

/** Changes to the staged virtual servers; `reset`: these are all of them (forget the others). */
export interface IpvsStagedMessage {
  type: 'ipvs-staged';
  reset?: true | undefined;
  services: StagedService[];
}

export type DumpKind = 'data' | 'stats' | 'stats-clear' | 'json';

export type ParentToChild =
  | InstanceStateMessage
  | IpvsStagedMessage
  | { type: 'instance-states'; states: InstanceStateMessage[] }
  | { type: 'reload' }
  /** Request: answered with the dump as plain data (the parent writes the file). */
  | { type: 'dump'; what: DumpKind }
  /** Request: answered with a status object for the status API. */
  | { type: 'status' };

/** A child's answer to a `dump` request: text for the data/stats files, data for the JSON file. */
export interface DumpReply {
  text?: string | undefined;
  json?: unknown;
}

export type ChildToParent =
  | { type: 'ready' }
  | { type: 'reload-done'; ok: boolean; error?: string | undefined }
  | InstanceStateMessage
  | IpvsStagedMessage
  /** A child that wants the daemon to stop (e.g. fatal configuration problem at reload). */
  | { type: 'fatal'; reason: string };

/**
 * Keeps the latest state of every VRRP instance as reported by the VRRP child, so that the parent
 * can forward changes and give a (re)started checker child the full picture at once.
 */
export class InstanceStateRelay {
  private readonly latest = new Map<string, InstanceStateMessage>();

  /** Records a change; returns false when it changes nothing (same state and VIPs). */
  update(msg: InstanceStateMessage): boolean {
    const prev = this.latest.get(msg.instance);
    if (msg.state === 'DELETED') {
      this.latest.delete(msg.instance);
      return prev !== undefined;
    }
    this.latest.set(msg.instance, msg);
    return !(prev && prev.state === msg.state && prev.vips.join(',') === msg.vips.join(','));
  }

  snapshot(): Extract<ParentToChild, { type: 'instance-states' }> {
    return { type: 'instance-states', states: [...this.latest.values()] };
  }

  /** After the VRRP child died: its instances are unknown until it reports again. */
  clear(): void {
    this.latest.clear();
  }
}

export type { Message };

/** The staged virtual servers by id, as the last `ipvs-staged` messages left them. */
export class StagedServices {
  private readonly byId = new Map<string, StagedService>();

  apply(msg: IpvsStagedMessage): void {
    if (msg.reset) this.byId.clear();
    for (const s of msg.services) {
      if (s.owners.length === 0) this.byId.delete(s.id);
      else this.byId.set(s.id, s);
    }
  }

  /** Everything, as one message (for a VRRP child that starts or restarts). */
  snapshot(): IpvsStagedMessage {
    return { type: 'ipvs-staged', reset: true, services: [...this.byId.values()] };
  }

  /** The ops that install `instance`'s virtual servers, in service order. */
  opsFor(instance: string): IpvsOp[] {
    const ops: IpvsOp[] = [];
    for (const s of this.byId.values()) if (s.owners.includes(instance)) ops.push(...s.ops);
    return ops;
  }

  /** How many virtual servers `instance` installs. */
  countFor(instance: string): number {
    let n = 0;
    for (const s of this.byId.values()) if (s.owners.includes(instance)) n++;
    return n;
  }
}
