// A typed message channel over Node's IPC pipe (child_process.fork), usable from both ends.
// Plain data only (JSON serialisation): no functions, no class instances, no Maps, no BigInt.
// Wire format: { lvk: 1, kind: 'msg' | 'req' | 'res', id?, body?, error? }; other messages on the
// same pipe are ignored, so the channel can share it.

export interface Message {
  type: string;
}

/** What both ChildProcess (parent side) and `process` (child side) offer. */
export interface IpcPort {
  send?(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
  readonly connected?: boolean;
}

type Envelope =
  | { lvk: 1; kind: 'msg'; body: unknown }
  | { lvk: 1; kind: 'req'; id: number; body: unknown }
  | { lvk: 1; kind: 'res'; id: number; body?: unknown; error?: string };

function isEnvelope(m: unknown): m is Envelope {
  return typeof m === 'object' && m !== null && (m as { lvk?: unknown }).lvk === 1;
}

export class IpcTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`no answer to ${what} within ${ms} ms`);
    this.name = 'IpcTimeoutError';
  }
}

export class IpcClosedError extends Error {
  constructor(what: string) {
    super(`channel closed before ${what} was answered`);
    this.name = 'IpcClosedError';
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class IpcChannel<Send extends Message, Receive extends Message> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly messageListeners = new Set<(msg: Receive) => void>();
  private requestHandler: ((msg: Receive) => unknown) | undefined;
  private closed = false;
  private readonly listener = (m: unknown): void => this.dispatch(m);

  constructor(private readonly port: IpcPort) {
    port.on('message', this.listener);
  }

  get isOpen(): boolean {
    return !this.closed && this.port.connected !== false && typeof this.port.send === 'function';
  }

  /** Fire and forget; false when the other end is gone. */
  send(msg: Send): boolean {
    return this.write({ lvk: 1, kind: 'msg', body: msg });
  }

  onMessage(fn: (msg: Receive) => void): () => void {
    this.messageListeners.add(fn);
    return () => this.messageListeners.delete(fn);
  }

  /** Asks the other end (its onRequest handler) and resolves with its answer. */
  request<R = unknown>(msg: Send, timeoutMs = 5000): Promise<R> {
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      if (!this.isOpen) return reject(new IpcClosedError(msg.type));
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcTimeoutError(msg.type, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!this.write({ lvk: 1, kind: 'req', id, body: msg })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new IpcClosedError(msg.type));
      }
    });
  }

  /** The one handler that answers requests (a thrown error or rejection is sent back as an error). */
  onRequest(fn: (msg: Receive) => unknown): void {
    this.requestHandler = fn;
  }

  /** Stops listening and fails every pending request. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.off('message', this.listener);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new IpcClosedError(`request ${id}`));
    }
    this.pending.clear();
  }

  private write(env: Envelope): boolean {
    if (!this.isOpen) return false;
    try {
      // false from send() only means "queued behind a backlog"; the callback swallows EPIPE/ERR_IPC_CHANNEL_CLOSED.
      this.port.send!(env, () => {});
      return true;
    } catch {
      return false;
    }
  }

  private dispatch(m: unknown): void {
    if (!isEnvelope(m)) return;
    if (m.kind === 'msg') {
      for (const fn of [...this.messageListeners]) fn(m.body as Receive);
    } else if (m.kind === 'req') {
      const id = m.id;
      const handler = this.requestHandler;
      if (!handler) {
        this.write({ lvk: 1, kind: 'res', id, error: `no request handler for ${(m.body as Message)?.type}` });
        return;
      }
      Promise.resolve()
        .then(() => handler(m.body as Receive))
        .then(
          (body) => this.write({ lvk: 1, kind: 'res', id, body }),
          (e: unknown) => this.write({ lvk: 1, kind: 'res', id, error: e instanceof Error ? e.message : String(e) }),
        );
    } else {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.body);
    }
  }
}
