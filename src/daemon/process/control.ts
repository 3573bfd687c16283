// The parent's control socket: what `lvskeeper status` talks to, instead of keepalived's signals and
// /tmp dump files (keepalived #1296, #2001). A Unix stream socket, root only (0600 in a 0755 directory
// the daemon owns); one request line per connection:
//   status\n  → one JSON line, the StatusSnapshot (docs/status.schema.json), then the socket closes
//   watch\n   → one JSON line per event (state changes with their reason, reloads, respawns) until
//               either side closes
// The socket is served by the parent, which never runs VRRP timers: a slow or stuck client costs the
// parent a file descriptor, never an advert. Clients are bounded in number, request size and idle time.
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_PID_FILE } from './pidfile.js';

export const DEFAULT_CONTROL_SOCKET = '/run/lvskeeper/control';
const MAX_CLIENTS = 16;
const MAX_REQUEST_BYTES = 256;
const IDLE_MS = 10_000;

/**
 * Where the control socket of the daemon with pid file `pidFile` is: two daemons (-p, or -s namespaces,
 * whose pid files are /run/lvskeeper/NAME/lvskeeper.pid) never share one.
 */
export function controlSocketPath(pidFile: string): string {
  if (pidFile === DEFAULT_PID_FILE) return DEFAULT_CONTROL_SOCKET;
  if (basename(pidFile) === 'lvskeeper.pid') return join(dirname(pidFile), 'control');
  return join(dirname(pidFile), `${basename(pidFile).replace(/\.pid$/, '')}.control`);
}

/** One line of `status --watch`. */
export interface WatchEvent {
  at: number;
  kind: 'state' | 'reload' | 'respawn';
  text: string;
  instance?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  reason?: string | undefined;
  ok?: boolean | undefined;
  child?: string | undefined;
}

export interface ControlHandlers {
  status(): Promise<unknown>;
  subscribe(fn: (ev: WatchEvent) => void): () => void;
}

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

export async function startControlServer(path: string, handlers: ControlHandlers, log: { warn(m: string): void }): Promise<ControlServer> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  removeStaleSocket(path);
  const clients = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: false }, (socket) => {
    if (clients.size >= MAX_CLIENTS) {
      socket.end('{"error":"too many control clients"}\n');
      return;
    }
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(IDLE_MS, () => socket.destroy());
    serve(socket, handlers, log);
  });
  server.maxConnections = MAX_CLIENTS * 2;
  // The socket file must never exist with wider permissions, even for a moment.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.on('error', (e) => log.warn(`control socket ${path}: ${e.message}`));
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Our own socket left by a daemon that was killed: removed. Anything else there is refused. */
function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket: not replacing it`);
  unlinkSync(path);
}

function serve(socket: Socket, handlers: ControlHandlers, log: { warn(m: string): void }): void {
  let request = '';
  const onData = (chunk: Buffer): void => {
    request += chunk.toString('latin1');
    if (request.length > MAX_REQUEST_BYTES) {
      socket.end('{"error":"request too long"}\n');
      return;
    }
    const nl = request.indexOf('\n');
    if (nl < 0) return;
    socket.off('data', onData);
    const command = request.slice(0, nl).trim();
    if (command === 'status') {
      handlers.status().then(
        (s) => socket.end(`${JSON.stringify(s)}\n`),
        (e: unknown) => {
          log.warn(`control socket: status failed: ${(e as Error).message}`);
          socket.end(`${JSON.stringify({ error: (e as Error).message })}\n`);
        },
      );
    } else if (command === 'watch') {
      socket.setTimeout(0);
      const unsubscribe = handlers.subscribe((ev) => {
        // A client that does not read is dropped rather than buffered without end.
        if (socket.writableLength > 1 << 20) socket.destroy();
        else socket.write(`${JSON.stringify(ev)}\n`);
      });
      socket.on('close', unsubscribe);
      socket.write(`${JSON.stringify({ at: Date.now(), kind: 'watch', text: 'watching' })}\n`);
    } else {
      socket.end(`${JSON.stringify({ error: `unknown request: ${command.slice(0, 40)}` })}\n`);
    }
  };
  socket.on('data', onData);
}
