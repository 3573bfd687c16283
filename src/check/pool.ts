// The pure pool logic of one virtual server: which real servers are in IPVS, with which weight,
// quorum with hysteresis, and the sorry server, following keepalived's ipwrapper.c
// (perform_svr_state, update_quorum_state, update_svr_wgt, init_service_rs/vs).
//
// The runtime keeps a PoolState per virtual server and calls updatePool() whenever the alive
// state or the effective weight of a real server changes; desiredEntries() turns the state into
// the ServiceEntry rows the IPVS reconciler (src/ipvs/reconcile.ts) applies.

import type { Destination, ServiceEntry } from '../ipvs/types.js';
import type { RealServerSpec, ScriptSpec, VirtualServerSpec } from './types.js';
import type { CheckerState } from './state.js';

/** IPVS weights are a signed 32-bit value in the kernel; keepalived clamps with real_weight(). */
export const MAX_WEIGHT = 2147483647;

export interface RealServerStatus {
  alive: boolean;
  /** Effective weight (configured weight, or misc_dynamic weight, plus FILE_CHECK deltas). */
  weight: number;
}

export interface PoolState {
  quorumUp: boolean;
  /** By RealServerSpec.id */
  rs: Record<string, RealServerStatus>;
}

export type PoolEvent =
  | { kind: 'log'; vs: string; message: string }
  /** A real server went up or down: notify_up/notify_down script (if any) and the FIFO line. */
  | { kind: 'rs'; vs: string; rs: string; state: 'UP' | 'DOWN'; fifo: string; script?: ScriptSpec | undefined }
  /** Quorum gained/lost: quorum_up/quorum_down script (if any) and the FIFO line. */
  | { kind: 'vs'; vs: string; state: 'UP' | 'DOWN'; fifo: string; script?: ScriptSpec | undefined };

export interface PoolStep {
  state: PoolState;
  events: PoolEvent[];
}

function clampWeight(w: number): number {
  if (!Number.isFinite(w) || w < 0) return 0;
  return Math.min(Math.trunc(w), MAX_WEIGHT);
}

/**
 * The status of a real server from its checkers: alive only when every checker is up
 * (keepalived's num_failed_checkers == 0); a real server without checkers is always alive.
 * misc_dynamic replaces the configured weight; FILE_CHECK adds value*weight.
 */
export function realServerStatus(rs: RealServerSpec, checkers: ReadonlyArray<CheckerState | undefined>): RealServerStatus {
  let alive = true;
  let base = rs.weight;
  let delta = 0;
  for (const c of checkers) {
    if (!c) continue;
    if (!c.up) alive = false;
    if (c.weight !== undefined) base = c.weight;
    if (c.weightDelta !== undefined) delta += c.weightDelta;
  }
  return { alive, weight: clampWeight(base + delta) };
}

function liveWeight(vs: VirtualServerSpec, rs: Record<string, RealServerStatus>): number {
  let sum = 0;
  for (const r of vs.realServers) {
    const s = rs[r.id];
    if (s?.alive) sum += s.weight;
  }
  return sum;
}

function log(vs: VirtualServerSpec, message: string): PoolEvent {
  return { kind: 'log', vs: vs.id, message };
}

function vsEvent(vs: VirtualServerSpec, up: boolean): PoolEvent {
  return {
    kind: 'vs',
    vs: vs.id,
    state: up ? 'UP' : 'DOWN',
    fifo: `VS ${vs.label} ${up ? 'UP' : 'DOWN'}`,
    script: up ? vs.quorumUp : vs.quorumDown,
  };
}

/** The RS notify event (FIFO line + notify_up/notify_down script). */
export function rsEvent(vs: VirtualServerSpec, rs: RealServerSpec, up: boolean): PoolEvent {
  return {
    kind: 'rs',
    vs: vs.id,
    rs: rs.id,
    state: up ? 'UP' : 'DOWN',
    fifo: `RS ${rs.label} ${vs.label} ${up ? 'UP' : 'DOWN'}`,
    script: up ? rs.notifyUp : rs.notifyDown,
  };
}

/** update_quorum_state(vs, init=false) */
function updateQuorum(vs: VirtualServerSpec, state: PoolState, events: PoolEvent[]): void {
  const sum = liveWeight(vs, state.rs);
  const threshold = vs.quorum + (state.quorumUp ? -1 : 1) * vs.hysteresis;
  const sorry = vs.sorryServer;
  if (!state.quorumUp && sum >= threshold) {
    state.quorumUp = true;
    events.push(log(vs, `Gained quorum ${vs.quorum}+${vs.hysteresis}=${threshold} <= ${sum} for VS ${vs.label}`));
    if (sorry) {
      events.push(log(vs, `${sorry.inhibit ? 'Disabling' : 'Removing'} sorry server ${sorry.label} from VS ${vs.label}`));
      events.push(log(vs, `Adding alive servers to the pool for VS ${vs.label}`));
    }
    events.push(vsEvent(vs, true));
  } else if (state.quorumUp && (sum === 0 || sum < threshold)) {
    state.quorumUp = false;
    events.push(log(vs, `Lost quorum ${vs.quorum}-${vs.hysteresis}=${threshold} > ${sum} for VS ${vs.label}`));
    if (sorry) {
      events.push(log(vs, `Removing alive servers from the pool for VS ${vs.label}`));
      events.push(log(vs, `${sorry.inhibit ? 'Enabling' : 'Adding'} sorry server ${sorry.label} to VS ${vs.label}`));
    }
    events.push(vsEvent(vs, false));
  }
}

/**
 * The state at start (init_service_vs): quorum is up when the live weight reaches
 * quorum + hysteresis (set_quorum_states). With the quorum down and a sorry server, keepalived
 * logs "Starting with quorum down" and puts the sorry server in (the alpha case).
 */
export function initialPool(vs: VirtualServerSpec, rs: Record<string, RealServerStatus>): PoolStep {
  const events: PoolEvent[] = [];
  const sum = liveWeight(vs, rs);
  const quorumUp = sum >= vs.quorum + vs.hysteresis;
  if (!quorumUp && vs.sorryServer) {
    const threshold = vs.quorum + vs.hysteresis;
    events.push(log(vs, `Starting with quorum down ${vs.quorum}-${vs.hysteresis}=${threshold} > ${sum} for VS ${vs.label}`));
    events.push(
      log(vs, `${vs.sorryServer.inhibit ? 'Enabling' : 'Adding'} sorry server ${vs.sorryServer.label} to VS ${vs.label}`),
    );
    events.push(vsEvent(vs, false));
  }
  return { state: { quorumUp, rs: { ...rs } }, events };
}

/**
 * Move the pool to the new real server statuses, in configuration order, emitting keepalived's
 * events: per real server "Adding/Removing service" (or "Enabling/Disabling" with
 * inhibit_on_failure), notify and FIFO, then the quorum update; weight changes log
 * "Changing weight from A to B for [in]active service".
 */
export function updatePool(vs: VirtualServerSpec, prev: PoolState, next: Record<string, RealServerStatus>): PoolStep {
  const state: PoolState = { quorumUp: prev.quorumUp, rs: { ...prev.rs } };
  const events: PoolEvent[] = [];
  for (const r of vs.realServers) {
    const before = state.rs[r.id];
    const after = next[r.id];
    if (!after) continue;
    if (!before) {
      state.rs[r.id] = { ...after };
      continue;
    }
    if (after.weight !== before.weight) {
      state.rs[r.id] = { alive: before.alive, weight: after.weight };
      events.push(
        log(
          vs,
          `Changing weight from ${before.weight} to ${after.weight} for ${before.alive ? '' : 'in'}active service ${r.label} of VS ${vs.label}`,
        ),
      );
      updateQuorum(vs, state, events);
    }
    if (after.alive !== before.alive) {
      const verb = after.alive ? (r.inhibitOnFailure ? 'Enabling' : 'Adding') : r.inhibitOnFailure ? 'Disabling' : 'Removing';
      const prep = r.inhibitOnFailure ? 'of' : after.alive ? 'to' : 'from';
      events.push(log(vs, `${verb} service ${r.label} ${prep} VS ${vs.label}`));
      state.rs[r.id] = { alive: after.alive, weight: after.weight };
      events.push(rsEvent(vs, r, after.alive));
      updateQuorum(vs, state, events);
    }
  }
  return { state, events };
}

/**
 * The pool of a virtual server kept across a reload (keepalived's clear_diff_rs and the migration of
 * retained real servers): a kept real server starts from its state before the reload ("Do not re-add
 * failed RS instantly on reload"), an added one from its checkers' initial state (alpha: down), a
 * removed one is dropped. Then the usual updatePool() steps report what the new configuration changed
 * (weights: "Changing weight ...", an edit-dest), and quorum is re-evaluated against the new
 * quorum/hysteresis, which update_quorum_state would otherwise only do at the next RS change.
 */
export function reloadPool(vs: VirtualServerSpec, prev: PoolState, next: Record<string, RealServerStatus>): PoolStep {
  const start: PoolState = { quorumUp: prev.quorumUp, rs: {} };
  for (const r of vs.realServers) {
    const before = prev.rs[r.id] ?? next[r.id];
    if (before) start.rs[r.id] = { ...before };
  }
  const step = updatePool(vs, start, next);
  updateQuorum(vs, step.state, step.events);
  return step;
}

/**
 * keepalived's clear_service_vs at stop: "Shutting down service … from VS …" for every real server
 * in IPVS; with `omega`, the RS down notifiers and the VS down notifier run as well.
 */
export function shutdownEvents(vs: VirtualServerSpec, state: PoolState): PoolEvent[] {
  const events: PoolEvent[] = [];
  const sorryActive = !state.quorumUp && vs.sorryServer !== undefined;
  for (const r of vs.realServers) {
    const s = state.rs[r.id];
    const alive = s?.alive ?? false;
    if ((alive && !sorryActive) || r.inhibitOnFailure) {
      events.push(log(vs, `Shutting down ${r.inhibitOnFailure && !alive ? '(inhibited) ' : ''}service ${r.label} from VS ${vs.label}`));
    }
    if (alive && vs.omega) events.push(rsEvent(vs, r, false));
  }
  if (vs.omega) events.push(vsEvent(vs, false));
  return events;
}

/** keepalived logs this for every checker at start (check_api.c start_checker_thread ... ). */
export function activationLogs(vs: VirtualServerSpec): string[] {
  const lines: string[] = [];
  for (const r of vs.realServers) {
    for (let i = 0; i < r.checkers.length; i++) lines.push(activationLog(vs, r));
  }
  return lines;
}

/** The activation line of one checker of `rs` (also logged for a checker added or changed by reload). */
export function activationLog(vs: VirtualServerSpec, rs: RealServerSpec): string {
  return `Activating healthchecker for service ${rs.label} for VS ${vs.label}`;
}

function destination(
  d: Pick<RealServerSpec, 'family' | 'address' | 'port' | 'forward' | 'tunnel'>,
  weight: number,
  upper: number,
  lower: number,
): Destination {
  const dest: Destination = {
    family: d.family,
    address: d.address,
    port: d.port,
    forward: d.forward,
    weight,
    upperThreshold: upper,
    lowerThreshold: lower,
  };
  if (d.forward === 'tunnel' && d.tunnel) {
    dest.tunnelType = d.tunnel.type;
    if (d.tunnel.port !== undefined) dest.tunnelPort = d.tunnel.port;
    if (d.tunnel.flags !== undefined) dest.tunnelFlags = d.tunnel.flags;
  }
  return dest;
}

/**
 * The desired IPVS rows for this virtual server (one per service key; a virtual_server_group gives
 * several). Rules (keepalived, "What ipvsadm -Ln shows"):
 *  - alive RS: present with its effective weight;
 *  - dead RS: absent, or weight 0 with inhibit_on_failure;
 *  - quorum lost with a sorry server: alive RS leave the pool (inhibited ones stay at weight 0)
 *    and the sorry server is present;
 *  - sorry_server_inhibit: the sorry server stays at weight 0 while not in use.
 */
export function desiredEntries(vs: VirtualServerSpec, state: PoolState): ServiceEntry[] {
  const sorryActive = !state.quorumUp && vs.sorryServer !== undefined;
  const entries: ServiceEntry[] = [];
  for (const key of vs.keys) {
    const family = key.family;
    const destinations: Destination[] = [];
    for (const r of vs.realServers) {
      if (r.family !== family) continue;
      const s = state.rs[r.id];
      const alive = s?.alive ?? false;
      const weight = s?.weight ?? r.weight;
      if (alive && !sorryActive) destinations.push(destination(r, weight, r.upperThreshold, r.lowerThreshold));
      else if (r.inhibitOnFailure) destinations.push(destination(r, 0, r.upperThreshold, r.lowerThreshold));
    }
    const sorry = vs.sorryServer;
    if (sorry && sorry.family === family) {
      const dup = destinations.findIndex((d) => d.address === sorry.address && d.port === sorry.port);
      if (sorryActive) {
        const d = destination(sorry, sorry.weight, 0, 0);
        if (dup >= 0) destinations[dup] = d;
        else destinations.push(d);
      } else if (sorry.inhibit && dup < 0) {
        destinations.push(destination(sorry, 0, 0, 0));
      }
    }
    entries.push({
      service: {
        key,
        scheduler: vs.scheduler,
        flags: vs.flags,
        timeout: vs.timeout,
        netmask: vs.netmask ?? (family === 'inet' ? '255.255.255.255' : '128'),
        persistenceEngine: vs.persistenceEngine,
      },
      destinations,
    });
  }
  return entries;
}
