// TCP_CHECK (check_tcp.c): success when a TCP connection is established within connect_timeout.

import { connectTcp, guard, ok } from './common.js';
import { connectAndClose, hasTcpHandle } from './tcp-handle.js';
import type { ProbeResult, TcpCheckSpec } from '../types.js';

export function probeTcp(spec: TcpCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    // fwmark needs a socket marked before connect(): only the net.Socket path adopts one (common.ts).
    if (!spec.target.fwmark && hasTcpHandle()) {
      await connectAndClose(spec.target, signal);
      return ok('connected');
    }
    const socket = await connectTcp(spec.target, signal);
    socket.destroy();
    return ok('connected');
  });
}
