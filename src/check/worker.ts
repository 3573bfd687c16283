// Running the checkers off the main thread: keepalived runs them in their own process so that
// checker load never delays VRRP adverts. The protocol is plain structured-clone data:
//
//   host -> worker   { type: 'start', specs } | { type: 'reload', specs, id } | { type: 'stop' } | { type: 'status', id }
//   worker -> host   { type: 'event', event: CheckEvent } | { type: 'status', id, status } | { type: 'reloaded', id }
//                    | { type: 'stopped' }
//
// 'reloaded' follows every event the reload caused (a port delivers in order), so the host knows the
// desired rows it holds are those of the new configuration.
//
// serveCheckers() is the worker side (give it worker_threads.parentPort, or any MessagePort);
// CheckerClient is the host side (give it a Worker, or the other end of a MessageChannel in tests).
// worker-main.ts is the worker entry file.

import type { ServiceEntry } from '../ipvs/types.js';
import { CheckerScheduler, type CheckEvent, type SchedulerOptions, type VirtualServerStatusReport } from './runtime.js';
import type { VirtualServerSpec } from './types.js';

export type ToWorker =
  | { type: 'start'; specs: VirtualServerSpec[] }
  | { type: 'reload'; specs: VirtualServerSpec[]; id?: number | undefined }
  | { type: 'stop'; shutdown?: boolean }
  | { type: 'enable'; vs: string; enabled: boolean }
  | { type: 'status'; id: number };

export type FromWorker =
  | { type: 'event'; event: CheckEvent }
  | { type: 'status'; id: number; status: VirtualServerStatusReport[] }
  | { type: 'reloaded'; id: number }
  | { type: 'stopped' };

/** The subset of MessagePort / Worker / parentPort used here. */
export interface PortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off?(event: 'message', listener: (message: unknown) => void): unknown;
}

/** Worker side: run a scheduler driven by messages. Returns a function detaching it. */
export function serveCheckers(port: PortLike, options: Omit<SchedulerOptions, 'onEvent'> = {}): () => void {
  let scheduler: CheckerScheduler | undefined;
  const send = (m: FromWorker) => port.postMessage(m);
  const onMessage = (raw: unknown) => {
    const msg = raw as ToWorker;
    switch (msg.type) {
      case 'start':
        scheduler?.stop();
        scheduler = new CheckerScheduler(msg.specs, { ...options, onEvent: (event) => send({ type: 'event', event }) });
        scheduler.start();
        break;
      case 'reload':
        if (scheduler) scheduler.reload(msg.specs);
        else {
          scheduler = new CheckerScheduler(msg.specs, { ...options, onEvent: (event) => send({ type: 'event', event }) });
          scheduler.start();
        }
        if (msg.id !== undefined) send({ type: 'reloaded', id: msg.id });
        break;
      case 'stop':
        scheduler?.stop(msg.shutdown ?? false);
        send({ type: 'stopped' });
        break;
      case 'enable':
        scheduler?.setEnabled(msg.vs, msg.enabled);
        break;
      case 'status':
        send({ type: 'status', id: msg.id, status: scheduler?.status() ?? [] });
        break;
    }
  };
  port.on('message', onMessage);
  return () => {
    scheduler?.stop();
    port.off?.('message', onMessage);
  };
}

/** Host side: sends specs, receives events, keeps the latest desired rows per virtual server. */
export class CheckerClient {
  private readonly desiredByVs = new Map<string, ServiceEntry[]>();
  private nextId = 1;
  private readonly pending = new Map<number, (s: VirtualServerStatusReport[]) => void>();
  private readonly reloading = new Map<number, () => void>();
  private stoppedWaiters: Array<() => void> = [];

  constructor(
    private readonly port: PortLike,
    private readonly onEvent: (ev: CheckEvent) => void = () => {},
  ) {
    port.on('message', (raw) => this.receive(raw as FromWorker));
  }

  start(specs: VirtualServerSpec[]): void {
    this.send({ type: 'start', specs });
  }

  /** Resolves once the worker applied the new specs and every event of that reload arrived here. */
  reload(specs: VirtualServerSpec[]): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.reloading.set(id, resolve);
      this.send({ type: 'reload', specs, id });
    });
  }

  /** Stop the checkers; `shutdown` also emits keepalived's shutdown/omega events before 'stopped'. */
  stop(shutdown = false): Promise<void> {
    return new Promise((resolve) => {
      this.stoppedWaiters.push(resolve);
      this.send({ type: 'stop', shutdown });
    });
  }

  setEnabled(vs: string, enabled: boolean): void {
    this.send({ type: 'enable', vs, enabled });
  }

  status(): Promise<VirtualServerStatusReport[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send({ type: 'status', id });
    });
  }

  /** The latest desired rows of every virtual server (in the order they were first reported). */
  desired(): ServiceEntry[] {
    return [...this.desiredByVs.values()].flat();
  }

  desiredFor(vs: string): ServiceEntry[] {
    return this.desiredByVs.get(vs) ?? [];
  }

  private send(m: ToWorker): void {
    this.port.postMessage(m);
  }

  private receive(m: FromWorker): void {
    if (m.type === 'event') {
      if (m.event.kind === 'desired') {
        if (m.event.entries.length === 0) this.desiredByVs.delete(m.event.vs);
        else this.desiredByVs.set(m.event.vs, m.event.entries);
      }
      this.onEvent(m.event);
    } else if (m.type === 'status') {
      this.pending.get(m.id)?.(m.status);
      this.pending.delete(m.id);
    } else if (m.type === 'reloaded') {
      this.reloading.get(m.id)?.();
      this.reloading.delete(m.id);
    } else if (m.type === 'stopped') {
      const waiters = this.stoppedWaiters;
      this.stoppedWaiters = [];
      waiters.forEach((w) => w());
    }
  }
}
