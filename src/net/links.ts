// LinkWatcher: a getLinks-style dump, then RTNLGRP_LINK notifications. The event socket joins the group
// *before* the dump so no change between the two is lost; on ENOBUFS (the kernel dropped notifications)
// or once a failed event socket has been reopened, the state is re-dumped and any difference is reported
// as a change.

import { decodeLink, RTM_DELLINK, RTM_NEWLINK, RTNLGRP_LINK, type LinkInfo } from './rtnetlink-codec.js';
import { dumpLinks } from './interfaces.js';
import { RtnlClient } from './rtnl.js';
import type { LinkState, LinkWatcher } from './types.js';

function toState(l: LinkInfo, gone = false): LinkState {
  return gone
    ? { name: l.name, index: l.index, up: false, running: false, mac: l.mac }
    : { name: l.name, index: l.index, up: l.up, running: l.running, mac: l.mac };
}

function same(a: LinkState | undefined, b: LinkState): boolean {
  return a !== undefined && a.name === b.name && a.up === b.up && a.running === b.running && a.mac === b.mac;
}

/** The two rtnetlink sockets a watcher uses (tests pass fakes). */
export interface LinkWatcherSockets {
  events: Pick<RtnlClient, 'onMessage' | 'onError' | 'close'> & Partial<Pick<RtnlClient, 'onReopened'>>;
  requests: Pick<RtnlClient, 'request' | 'close'>;
}

export class RtnlLinkWatcher implements LinkWatcher {
  private readonly byIndex = new Map<number, LinkState>();
  private readonly handlers: ((link: LinkState) => void)[] = [];
  private readonly events: LinkWatcherSockets['events'];
  private readonly requests: LinkWatcherSockets['requests'];
  private closed = false;
  /** Interfaces a notification reported while the first dump was in flight (undefined once it is in). */
  private notifiedDuringDump: Set<number> | undefined;

  constructor(sockets?: LinkWatcherSockets) {
    this.events = sockets?.events ?? new RtnlClient([RTNLGRP_LINK], { ref: true });
    this.requests = sockets?.requests ?? new RtnlClient();
  }

  async start(): Promise<void> {
    this.events.onMessage(({ type, data }) => {
      if (type !== RTM_NEWLINK && type !== RTM_DELLINK) return;
      const l = decodeLink(data);
      if (l === undefined) return;
      this.notifiedDuringDump?.add(l.index);
      this.update(toState(l, type === RTM_DELLINK), type === RTM_DELLINK);
    });
    this.events.onError(() => void this.resync());
    this.events.onReopened?.(() => void this.resync());
    this.notifiedDuringDump = new Set();
    const links = await dumpLinks(this.requests);
    const notified = this.notifiedDuringDump;
    this.notifiedDuringDump = undefined;
    // The dump and the notifications come on two sockets, in no common order: a notification handled before
    // the dump's reply may be newer than the dump (a carrier that came up meanwhile), and overwriting it
    // left an instance in FAULT until the next link change. Keep what the notification said, then dump again
    // to settle which was newer (a difference is reported like any change).
    for (const l of links) if (!notified.has(l.index)) this.byIndex.set(l.index, toState(l));
    if (notified.size > 0) void this.resync();
  }

  private update(state: LinkState, gone: boolean): void {
    const before = this.byIndex.get(state.index);
    if (gone) this.byIndex.delete(state.index);
    else this.byIndex.set(state.index, state);
    // NEWLINK also fires for changes we do not track (mtu, stats); report only what the engine reads.
    if (!gone && same(before, state)) return;
    if (gone && before === undefined) return;
    for (const h of this.handlers) {
      try {
        h(state);
      } catch {
        // a failing handler must not stop the others
      }
    }
  }

  private async resync(): Promise<void> {
    if (this.closed) return;
    let links: LinkInfo[];
    try {
      links = await dumpLinks(this.requests);
    } catch {
      return;
    }
    const seen = new Set<number>();
    for (const l of links) {
      seen.add(l.index);
      this.update(toState(l), false);
    }
    for (const [index, s] of [...this.byIndex]) {
      if (!seen.has(index)) this.update({ ...s, up: false, running: false }, true);
    }
  }

  get(name: string): LinkState | undefined {
    for (const s of this.byIndex.values()) if (s.name === name) return { ...s };
    return undefined;
  }

  onChange(handler: (link: LinkState) => void): void {
    this.handlers.push(handler);
  }

  close(): void {
    this.closed = true;
    this.events.close();
    this.requests.close();
  }
}

export async function openLinkWatcher(): Promise<LinkWatcher> {
  const w = new RtnlLinkWatcher();
  try {
    await w.start();
  } catch (e) {
    w.close();
    throw new Error(`cannot watch links: ${(e as Error).message}`);
  }
  return w;
}
