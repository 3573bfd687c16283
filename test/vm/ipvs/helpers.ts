// Shared helpers for IPVS tests in the VM (scripts/in-vm.sh): the real ipvsadm is the oracle.
import { execFileSync } from 'node:child_process';
import { IpvsClient, openNetlinkPort, type NetlinkPort } from '../../../src/ipvs/client.js';
import { parseMessages } from '../../../src/ipvs/codec.js';

export function ipvsadm(...args: string[]): string {
  return execFileSync('ipvsadm', args, { encoding: 'utf8' });
}

/** `ipvsadm -S -n` as lines (the kernel table in rule form). */
export function saved(): string[] {
  return ipvsadm('-S', '-n').split('\n').filter(Boolean);
}

export function resetKernel(): void {
  ipvsadm('-C');
  for (const state of ['master', 'backup']) {
    try {
      execFileSync('ipvsadm', ['--stop-daemon', state], { stdio: 'ignore' });
    } catch {
      // not running
    }
  }
  ipvsadm('--set', '900', '120', '300');
}

/** A client whose sent requests are recorded as { type, flags, cmd } for "what went on the wire" checks. */
export async function recordingClient(options: { timeoutMs?: number; window?: number; ackEach?: boolean } = {}): Promise<{
  client: IpvsClient;
  sent: Array<{ flags: number; cmd: number }>;
}> {
  const raw = openNetlinkPort();
  const sent: Array<{ flags: number; cmd: number }> = [];
  const port: NetlinkPort = {
    send: (d, done) => {
      for (const m of parseMessages(d)) sent.push({ flags: m.flags, cmd: m.payload[0] ?? 0 });
      raw.send(d, done);
    },
    onMessage: (h) => raw.onMessage(h),
    onError: (h) => raw.onError(h),
    receiveBufferSize: () => raw.receiveBufferSize(),
    setRef: (r) => raw.setRef(r),
    close: () => raw.close(),
  };
  const client = await IpvsClient.connect(port, { timeoutMs: 20_000, ...options });
  return { client, sent };
}
