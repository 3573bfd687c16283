// vrrp_sync_group rules (keepalived vrrp_sync.c), pure: members move together.
// - One member FAULT (its own weight-0 tracker) → every member FAULT, until no member has its own fault.
// - One member BACKUP → MASTER → the other BACKUP members follow to MASTER.
// - One member MASTER → BACKUP (higher-priority advert, deleted VIP) → the other MASTER members follow.
import type { MachineEvent, VrrpState } from './state-machine.js';

export interface SyncGroupMember {
  name: string;
  state: VrrpState;
  /** The member's own fault (ownFault()), not the one imposed by the group. */
  ownFault: boolean;
}

export interface SyncGroupState {
  name: string;
  /** Whether the group currently imposes FAULT on its members. */
  faulted: boolean;
}

export interface SyncGroupTrigger {
  member: string;
  from: VrrpState;
  to: VrrpState;
  reason: string;
}

export interface SyncGroupResult {
  group: SyncGroupState;
  events: { member: string; event: MachineEvent }[];
  logs: string[];
}

export function syncGroupStep(group: SyncGroupState, members: SyncGroupMember[], triggers: SyncGroupTrigger[]): SyncGroupResult {
  const events: SyncGroupResult['events'] = [];
  const logs: string[] = [];
  const g: SyncGroupState = { ...group };
  const anyFault = members.some((m) => m.ownFault);
  if (anyFault !== g.faulted) {
    g.faulted = anyFault;
    logs.push(`VRRP_Group(${g.name}) ${anyFault ? 'Syncing instances to FAULT state' : 'Leaving FAULT state'}`);
    for (const m of members) events.push({ member: m.name, event: { type: 'groupFault', fault: anyFault } });
  }
  for (const t of triggers) {
    if (t.reason === 'sync group' || g.faulted) continue;
    if (t.to === 'MASTER' && t.from === 'BACKUP') {
      const others = members.filter((m) => m.name !== t.member && m.state === 'BACKUP');
      if (others.length > 0) logs.push(`VRRP_Group(${g.name}) Syncing instances to MASTER state`);
      for (const m of others) events.push({ member: m.name, event: { type: 'groupForce', to: 'MASTER' } });
    } else if (t.to === 'BACKUP' && t.from === 'MASTER') {
      const others = members.filter((m) => m.name !== t.member && m.state === 'MASTER');
      if (others.length > 0) logs.push(`VRRP_Group(${g.name}) Syncing instances to BACKUP state`);
      for (const m of others) events.push({ member: m.name, event: { type: 'groupForce', to: 'BACKUP' } });
    }
  }
  return { group: g, events, logs };
}
