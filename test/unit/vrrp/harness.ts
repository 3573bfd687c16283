// Fake-clock driver for the pure state machine: keeps the timer table the engine would keep and fires
// timers in time order, recording every action.
import { step, initialState, type Action, type MachineConfig, type MachineEvent, type MachineState, type TimerKind } from '../../../src/vrrp/state-machine.js';
import type { VrrpAdvert } from '../../../src/vrrp/packet.js';

export class Sim {
  nowMs = 0;
  state: MachineState;
  timers = new Map<TimerKind, number>();
  log: { at: number; action: Action }[] = [];
  constructor(readonly cfg: MachineConfig, trackersUp: Record<string, boolean> = {}) {
    this.state = initialState(cfg, trackersUp);
  }
  event(ev: MachineEvent): Action[] {
    const r = step(this.cfg, this.state, ev, this.nowMs);
    this.state = r.state;
    for (const a of r.actions) {
      this.log.push({ at: this.nowMs, action: a });
      if (a.type === 'setTimer') this.timers.set(a.kind, this.nowMs + a.ms);
      if (a.type === 'cancelTimer') this.timers.delete(a.kind);
    }
    return r.actions;
  }
  /** Advance the clock, firing due timers in order. */
  advance(ms: number): void {
    const end = this.nowMs + ms;
    for (;;) {
      let next: [TimerKind, number] | undefined;
      for (const [k, t] of this.timers) if (t <= end && (!next || t < next[1])) next = [k, t];
      if (!next) break;
      this.nowMs = next[1];
      this.timers.delete(next[0]);
      this.event({ type: 'timer', kind: next[0] });
    }
    this.nowMs = end;
  }
  /** Time of the first action matching pred at or after `since`. */
  firstAt(pred: (a: Action) => boolean, since = 0): number | undefined {
    return this.log.find((e) => e.at >= since && pred(e.action))?.at;
  }
  actionsSince(since: number): Action[] {
    return this.log.filter((e) => e.at >= since).map((e) => e.action);
  }
  logs(): string[] {
    return this.log.flatMap((e) => (e.action.type === 'log' ? [e.action.text] : []));
  }
  sent(since = 0): number[] {
    return this.log.filter((e) => e.at >= since && e.action.type === 'sendAdvert').map((e) => (e.action as { priority: number }).priority);
  }
}

export function advert(p: Partial<VrrpAdvert> & { priority: number }): VrrpAdvert {
  return {
    version: 2,
    type: 1,
    vrid: 51,
    count: 1,
    family: 'inet',
    addresses: ['192.168.60.200'],
    authType: 0,
    authData: Buffer.alloc(8),
    advertIntCs: 100,
    advertIntField: 1,
    reserved: 0,
    checksum: 0,
    length: 20,
    ...p,
  };
}
