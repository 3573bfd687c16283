// SMTP_CHECK (check_smtp.c): for each host (host{} blocks, else the checker target) in turn:
// connect, expect a 220 banner, send "HELO <helo_name>" and expect 250, send "QUIT" and expect 221.
// Every host must pass. Only the 3-digit code at the start of the line counts; multi-line
// replies ("250-...") are read up to their last line.

import type net from 'node:net';
import { connectTcp, describeError, fail, formatTrio, guard, ok } from './common.js';
import type { ConnectTarget, ProbeResult, SmtpCheckSpec } from '../types.js';

export const SMTP_DEFAULT_HELO = 'smtpchecker.keepalived.org';

/** Read one SMTP reply (possibly multi-line); resolves with its code or a failure reason. */
function readReply(socket: net.Socket, state: { buf: string }, timeoutMs: number): Promise<number | string> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: number | string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      resolve(r);
    };
    const scan = () => {
      for (;;) {
        const nl = state.buf.indexOf('\n');
        if (nl < 0) {
          if (state.buf.length > 8192) finish('reply line too long');
          return;
        }
        const line = state.buf.slice(0, nl).replace(/\r$/, '');
        state.buf = state.buf.slice(nl + 1);
        const m = /^(\d{3})([ -]?)/.exec(line);
        if (!m) {
          finish(`malformed reply "${line.slice(0, 60)}"`);
          return;
        }
        if (m[2] !== '-') {
          finish(Number(m[1]));
          return;
        }
      }
    };
    const onData = (d: Buffer) => {
      state.buf += d.toString('latin1');
      scan();
    };
    const onClose = () => finish('connection closed by server');
    const onError = (err: Error) => finish(`read failure: ${err.message}`);
    const timer = setTimeout(() => finish('read timeout'), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onError);
    scan();
  });
}

async function checkHost(host: ConnectTarget, helo: string, signal: AbortSignal): Promise<string | undefined> {
  const socket = await connectTcp(host, signal);
  const state = { buf: '' };
  try {
    const steps: Array<[string | undefined, number, string]> = [
      [undefined, 220, 'banner'],
      [`HELO ${helo}\r\n`, 250, 'HELO'],
      ['QUIT\r\n', 221, 'QUIT'],
    ];
    for (const [line, expect, what] of steps) {
      if (signal.aborted) return 'aborted';
      if (line) socket.write(line);
      const code = await readReply(socket, state, host.connectTimeoutMs);
      if (typeof code === 'string') return `${what}: ${code}`;
      if (code !== expect) return `${what}: expected ${expect}, got ${code}`;
    }
    return undefined;
  } finally {
    socket.destroy();
  }
}

export function probeSmtp(spec: SmtpCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    for (const host of spec.hosts) {
      const err = await checkHost(host, spec.heloName, signal).catch((e: unknown) => describeError(e));
      if (err) return fail(`${err} from server ${formatTrio(host.address, 'tcp', host.port)}`);
    }
    return ok('SMTP dialogue ok');
  });
}
