// The child side of the supervisor: a typed channel to the parent, and a clean exit when the parent
// disappears (parent SIGKILLed or crashed): the child runs its stop handler (priority-0 adverts,
// VIPs removed, IPVS entries removed) instead of living on as an orphan that holds the VIPs.

import { IpcChannel, type Message } from './ipc.js';
import type { ChildToParent, DumpKind, DumpReply, InstanceStateMessage, ParentToChild } from './messages.js';

export interface ParentLink<Send extends Message, Receive extends Message> {
  /** undefined when this process was not forked with an IPC channel (run standalone). */
  readonly channel: IpcChannel<Send, Receive> | undefined;
  send(msg: Send): boolean;
  onMessage(fn: (msg: Receive) => void): () => void;
  onRequest(fn: (msg: Receive) => unknown): void;
  /** Called once when the parent's channel closes; the process exits with the handler's code (default 0). */
  onParentGone(fn: () => Promise<number | void> | number | void): void;
  close(): void;
}

export function connectToParent<Send extends Message, Receive extends Message>(
  proc: NodeJS.Process = process,
): ParentLink<Send, Receive> {
  const channel = typeof proc.send === 'function' ? new IpcChannel<Send, Receive>(proc) : undefined;
  let goneHandler: (() => Promise<number | void> | number | void) | undefined;
  let gone = false;
  const onDisconnect = (): void => {
    if (gone) return;
    gone = true;
    channel?.close();
    const h = goneHandler;
    Promise.resolve()
      .then(() => (h ? h() : 0))
      .then(
        (code) => proc.exit(typeof code === 'number' ? code : 0),
        () => proc.exit(1),
      );
  };
  if (channel) proc.on('disconnect', onDisconnect);
  return {
    channel,
    send: (msg) => channel?.send(msg) ?? false,
    onMessage: (fn) => channel?.onMessage(fn) ?? (() => {}),
    onRequest: (fn) => channel?.onRequest(fn),
    onParentGone: (fn) => {
      goneHandler = fn;
    },
    close: () => {
      proc.off('disconnect', onDisconnect);
      channel?.close();
      if (proc.connected) proc.disconnect?.();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The whole child side in one call, for the VRRP and checker children.

export interface ChildRuntimeHandlers {
  /** Re-read the configuration and apply it (the parent has checked that it parses). */
  reload(): Promise<void> | void;
  /** Data for a dump file (the parent writes the file). */
  dump(what: DumpKind): Promise<DumpReply> | DumpReply;
  /** Clean shutdown: priority-0 adverts and VIPs removed (VRRP), IPVS entries removed (checker). */
  stop(): Promise<void> | void;
  status?(): unknown;
  /** Every other message from the parent (instance-state / instance-states for the checker). */
  onMessage?(msg: ParentToChild): void;
  /** Where problems are reported (default stderr). */
  warn?(msg: string): void;
}

export interface ChildRuntime {
  link: ParentLink<ChildToParent, ParentToChild>;
  /** Tell the parent that initialisation is done (READY=1 goes to systemd once all children said so). */
  ready(): void;
  /** VRRP child: report an instance state change (forwarded to the checker child). */
  sendState(msg: Omit<InstanceStateMessage, 'type' | 'at'> & { at?: number }): void;
  /** Stop as if SIGTERM had arrived; resolves never (the process exits). */
  shutdown(code?: number): Promise<never>;
}

/**
 * Wires a child to the parent: SIGTERM or a vanished parent → handlers.stop() then exit; SIGINT and
 * SIGHUP (a terminal's Ctrl-C / hang-up reach the whole process group) and the dump signals are
 * ignored here, since the parent coordinates; `reload` → handlers.reload() → `reload-done`;
 * `dump` / `status` requests are answered.
 */
export function startChildRuntime(handlers: ChildRuntimeHandlers, proc: NodeJS.Process = process): ChildRuntime {
  const link = connectToParent<ChildToParent, ParentToChild>(proc);
  const warn = handlers.warn ?? ((m: string) => proc.stderr.write(`${m}\n`));
  let stopping: Promise<never> | undefined;
  const shutdown = (code = 0): Promise<never> => {
    stopping ??= Promise.resolve()
      .then(() => handlers.stop())
      .then(
        () => proc.exit(code),
        (e: unknown) => {
          warn(`stop failed: ${e instanceof Error ? e.message : String(e)}`);
          return proc.exit(1);
        },
      ) as Promise<never>;
    return stopping;
  };
  const ignore = (): void => {};
  for (const sig of ['SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGURG'] as const) proc.on(sig, ignore);
  proc.on('SIGTERM', () => void shutdown(0));
  link.onParentGone(async () => {
    warn('parent process gone: stopping');
    await handlers.stop();
    return 0;
  });
  let reloading: Promise<void> = Promise.resolve();
  link.onMessage((msg) => {
    if (msg.type === 'reload') {
      reloading = reloading.then(async () => {
        try {
          await handlers.reload();
          link.send({ type: 'reload-done', ok: true });
        } catch (e) {
          link.send({ type: 'reload-done', ok: false, error: e instanceof Error ? e.message : String(e) });
        }
      });
      return;
    }
    handlers.onMessage?.(msg);
  });
  link.onRequest(async (msg) => {
    if (msg.type === 'dump') return handlers.dump(msg.what);
    if (msg.type === 'status') return handlers.status?.() ?? null;
    throw new Error(`unexpected request ${msg.type}`);
  });
  return {
    link,
    ready: () => void link.send({ type: 'ready' }),
    sendState: (m) => void link.send({ ...m, type: 'instance-state', at: m.at ?? Date.now() }),
    shutdown,
  };
}
