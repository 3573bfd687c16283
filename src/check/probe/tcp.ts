// TCP_CHECK (check_tcp.c): success when a TCP connection is established within connect_timeout.

import { connectTcp, guard, ok } from './common.js';
import type { ProbeResult, TcpCheckSpec } from '../types.js';

export function probeTcp(spec: TcpCheckSpec, signal: AbortSignal): Promise<ProbeResult> {
  return guard(async () => {
    const socket = await connectTcp(spec.target, signal);
    socket.destroy();
    return ok('connected');
  });
}
