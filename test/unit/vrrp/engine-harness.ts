// A fake wire, fake nodes (VIP table, links, announcer, sockets) and a fake clock around the real
// VrrpEngine: real config text through the parser, real codec, real validation. Shared by the engine
// tests (start-up/failover and reload).
import { expect } from 'vitest';
import type { Config } from '../../../src/config/index.js';
import { parseConfig } from '../../../src/config/index.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { VrrpEngine, type EngineAdapters, type TrackScriptSource } from '../../../src/daemon/vrrp-engine.js';
import type { AddressManager, Announcer, Family, LinkState, LinkWatcher, ReceivedPacket, TransportOptions, VirtualAddress, VrrpTransport } from '../../../src/net/types.js';
import type { StateChangeEvent, TakeoverHooks } from '../../../src/vrrp/instance.js';
import { FakeTimers, type TimerHost } from '../../../src/vrrp/timers.js';

export const LATENCY_MS = 0.1;

export class Wire {
  ports: { src: string; deliver: (p: ReceivedPacket) => void; up: () => boolean }[] = [];
  sent: { at: number; src: string; payload: Buffer }[] = [];
  /**
   * Milliseconds between a packet's arrival (stamped as `receivedAt`) and the receive callback, as when
   * the event loop is busy. 0: delivered on arrival without a stamp.
   */
  callbackDelayMs = 0;
  /** The VRRP group packets are addressed to (ff02::12 for an IPv6 wire). */
  group = '224.0.0.18';
  constructor(readonly timers: FakeTimers) {}
  /** `unicast`: addressed to each receiver (unicast_peer), else to the VRRP group. */
  send(src: string, payload: Buffer, senderUp: boolean, unicast = false): void {
    this.sent.push({ at: this.timers.now(), src, payload });
    if (!senderUp) return;
    for (const p of this.ports) {
      if (p.src === src) continue;
      const arrival = this.timers.now() + LATENCY_MS;
      const delay = this.callbackDelayMs;
      this.timers.at(arrival + delay, () => {
        const packet: ReceivedPacket = { payload: Buffer.from(payload), source: src, destination: unicast ? p.src : this.group, ttl: 255 };
        if (delay > 0) packet.receivedAt = arrival;
        if (p.up()) p.deliver(packet);
      });
    }
  }
  /** Inject a crafted packet as if from `src`. */
  inject(src: string, payload: Buffer, ttl = 255): void {
    for (const p of this.ports) if (p.src !== src && p.up()) p.deliver({ payload, source: src, destination: this.group, ttl });
  }
  /** Adverts sent by `src` for `vrid` (byte 1 of the VRRP header): time and priority. */
  adverts(src: string, vrid = 51): { at: number; priority: number }[] {
    return this.sent.filter((s) => s.src === src && s.payload[1] === vrid).map((s) => ({ at: s.at, priority: s.payload[2]! }));
  }
}

export interface FakeSocket {
  options: TransportOptions;
  closed: boolean;
  sent: number;
}

export function parse(conf: string): Config {
  const { config, diagnostics } = parseConfig('/etc/keepalived/keepalived.conf', { readFile: () => conf, hostname: 'lb' });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return config;
}

export class Node {
  vips = new Map<string, VirtualAddress>();
  /** Every VIP add/remove in order. */
  vipOps: { at: number; op: 'add' | 'remove'; address: string }[] = [];
  announced: { at: number; address: string }[] = [];
  sockets: FakeSocket[] = [];
  /** notify (scripts/FIFO) and state-change events, as the daemon's hooks would see them. */
  notifies: { instance: string; state: string; priority: number }[] = [];
  changes: StateChangeEvent[] = [];
  linkUp = true;
  /** Make openTransport fail (e.g. a peer the kernel refuses). */
  refuseSocket: (o: TransportOptions) => boolean = () => false;
  /** While set, opening a socket waits for it (a slow kernel). */
  socketGate: Promise<void> | undefined;
  private linkHandlers: ((l: LinkState) => void)[] = [];
  private removedHandlers: ((f: Family, a: string, i: number) => void)[] = [];
  log = createMemoryLogger();
  /** IPVS work around the VIPs (the daemon's IpvsTakeover), when a test gives one. */
  takeover: TakeoverHooks | undefined;
  /** The GC adapter's answer to "what paused the process" (none by default). */
  explainStall: EngineAdapters['explainStall'];
  engine!: VrrpEngine;
  constructor(readonly wire: Wire, readonly src: string, readonly timers: TimerHost = wire.timers) {}
  adapters(): EngineAdapters {
    const node = this;
    const addresses: AddressManager = {
      add: async (v) => {
        node.vipOps.push({ at: node.timers.now(), op: 'add', address: v.address });
        node.vips.set(v.address, v);
      },
      remove: async (v) => {
        node.vipOps.push({ at: node.timers.now(), op: 'remove', address: v.address });
        node.vips.delete(v.address);
      },
      has: async (v) => node.vips.has(v.address),
      onAddressRemoved: (h) => void node.removedHandlers.push(h),
      close: () => undefined,
    };
    const links: LinkWatcher = {
      get: (name) => ({ name, index: 2, up: node.linkUp, running: node.linkUp }),
      onChange: (h) => void node.linkHandlers.push(h),
      close: () => undefined,
    };
    const announcer: Announcer = {
      announce: async (_i, vip) => void node.announced.push({ at: node.timers.now(), address: vip.address }),
      close: () => undefined,
    };
    return {
      openTransport: async (options: TransportOptions): Promise<VrrpTransport> => {
        await node.socketGate;
        if (node.refuseSocket(options)) throw new Error('Network is unreachable');
        let handler: (p: ReceivedPacket) => void = () => undefined;
        const socket: FakeSocket = { options, closed: false, sent: 0 };
        node.sockets.push(socket);
        node.wire.ports.push({ src: node.src, deliver: (p) => handler(p), up: () => node.linkUp && !socket.closed });
        return {
          send: async (payload) => {
            if (socket.closed) throw new Error('socket closed');
            socket.sent++;
            node.wire.send(node.src, payload, node.linkUp, options.unicastPeers !== undefined);
          },
          onPacket: (h) => void (handler = h),
          onError: () => undefined,
          close: () => void (socket.closed = true),
        };
      },
      addresses,
      links,
      announcer,
      interfaceInfo: async () => ({ index: 2, ipv4: node.src }),
      timers: node.timers,
      explainStall: node.explainStall,
    };
  }
  async start(conf: string, scripts?: TrackScriptSource): Promise<void> {
    this.engine = await VrrpEngine.start(parse(conf), this.adapters(), {
      log: this.log,
      keepVipsOnStop: false,
      scripts,
      hooks: { onNotify: (ev) => void this.notifies.push(ev), onStateChange: (ev) => void this.changes.push(ev) },
      takeover: this.takeover,
    });
  }
  async reload(conf: string, scripts?: TrackScriptSource): Promise<void> {
    await this.engine.reload(parse(conf), scripts);
  }
  setLink(up: boolean): void {
    this.linkUp = up;
    for (const h of this.linkHandlers) h({ name: 'eth0', index: 2, up, running: up });
  }
  deleteVip(address: string): void {
    this.vips.delete(address);
    for (const h of this.removedHandlers) h('inet', address, 2);
  }
  state(name = 'VI_1'): string | undefined {
    return this.engine.instances.get(name)?.state;
  }
  lines(): string[] {
    return this.log.lines.map((l) => l.msg);
  }
}

export const conf = (prio: number, extra = '', auth = 'secret', iface = 'eth0') => `
vrrp_instance VI_1 {
  state BACKUP
  interface ${iface}
  virtual_router_id 51
  priority ${prio}
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass ${auth}
  }
  virtual_ipaddress {
    192.168.60.200/24
  }
  ${extra}
}
`;

/** Let promise chains (VIP work) run between fake-timer steps. */
export async function run(t: FakeTimers, ms: number, stepMs = 5): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    t.advance(Math.min(stepMs, ms - done));
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}
