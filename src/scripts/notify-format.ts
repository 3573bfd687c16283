// keepalived's exact notify texts: FIFO lines and the generic `notify` script's extra arguments.
// Consumers parse these (doc/samples/sample_notify_fifo.sh reads `read -r TYPE NAME STATE PRIORITY`), so
// they must match byte for byte.
//
//   vrrp:  `INSTANCE "VI_1" MASTER 100`   (format `%s "%s" %s %d`; GROUP lines carry priority 0)
//          events: MASTER | BACKUP | FAULT | STOP | DELETED, plus MASTER_RX_LOWER_PRI and, with
//          notify_priority_changes, MASTER_PRIORITY / BACKUP_PRIORITY
//   lvs:   `VS [192.168.201.15]:tcp:80 UP`  (`VS %s %s`)
//          `RS [1.2.3.4]:tcp:80 [192.168.201.15]:tcp:80 DOWN`  (`RS %s %s %s`)
//          a virtual server is `[addr]:proto:port` (inet_sockaddrtotrio), `FWM 7` for a firewall mark,
//          `[group]:port` for a virtual_server_group.
//   generic notify script: configured args + `INSTANCE|GROUP NAME STATE PRIORITY`.

import type { Protocol, VirtualServer, VirtualServerKey } from '../config/model.js';

export type NotifyKind = 'INSTANCE' | 'GROUP';
export type VrrpNotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP' | 'DELETED';
export type VrrpFifoEvent = VrrpNotifyState | 'MASTER_RX_LOWER_PRI' | 'MASTER_PRIORITY' | 'BACKUP_PRIORITY';

export function vrrpFifoLine(kind: NotifyKind, name: string, event: VrrpFifoEvent, priority: number): string {
  return `${kind} "${name}" ${event} ${Math.trunc(priority)}\n`;
}

/** The four arguments keepalived appends for the generic `notify` script. */
export function genericNotifyArgs(kind: NotifyKind, name: string, state: VrrpNotifyState, priority: number): string[] {
  return [kind, name, state, String(Math.trunc(priority))];
}

/** `[addr]:proto:port`, keepalived's inet_sockaddrtotrio (IPv6 addresses inside the brackets). */
export function formatAddressTrio(address: string, protocol: Protocol, port: number): string {
  return `[${address}]:${protocol}:${port}`;
}

/** keepalived's format_vs(). */
export function formatVirtualServer(key: VirtualServerKey, protocol: Protocol): string {
  switch (key.kind) {
    case 'address':
      return formatAddressTrio(key.address, protocol, key.port);
    case 'fwmark':
      return `FWM ${key.fwmark}`;
    case 'group':
      // keepalived prints the port of the virtual server's own address, 0 for a group.
      return `[${key.group}]:0`;
  }
}

export function vsFifoLine(vs: Pick<VirtualServer, 'key' | 'protocol'>, up: boolean): string {
  return `VS ${formatVirtualServer(vs.key, vs.protocol)} ${up ? 'UP' : 'DOWN'}\n`;
}

/** A real server is printed with its virtual server's protocol, as keepalived's FMT_RS does. */
export function rsFifoLine(rs: { address: string; port: number }, vs: Pick<VirtualServer, 'key' | 'protocol'>, up: boolean): string {
  return `RS ${formatAddressTrio(rs.address, vs.protocol, rs.port)} ${formatVirtualServer(vs.key, vs.protocol)} ${up ? 'UP' : 'DOWN'}\n`;
}
