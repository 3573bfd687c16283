// The child side of the supervisor: a typed channel to the parent, and a clean exit when the parent
// disappears (parent SIGKILLed or crashed): the child runs its stop handler (priority-0 adverts,
// VIPs removed, IPVS entries removed) instead of living on as an orphan that holds the VIPs.

import { IpcChannel, type Message } from './ipc.js';

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
