// The checker child process (keepalived's Keepalived_healthcheckers): health checks and IPVS. Its own
// process, so that a checker burst can never delay a VRRP advert. It learns the VRRP instances'
// states from the parent (relayed from the VRRP child), because a virtual server whose address is a
// VIP is installed only while its instance is MASTER here (unless lvs_program_on_all_nodes).
import type { Config, ScriptCommand } from '../config/model.js';
import type { VrrpState } from '../vrrp/state-machine.js';
import { attachCheckers, keyLabel, type CheckersHook, type EngineView } from './checkers.js';
import type { Logger } from './log.js';
import type { DaemonOptions } from './options.js';
import { renderDataDump } from './process/dump.js';
import type { StatusSnapshot } from './status/model.js';
import type { DumpKind, DumpReply, InstanceStateMessage, IpvsStagedMessage, ParentToChild } from './process/messages.js';
import { scriptPreparerFor } from './vrrp-child.js';

/** The VRRP instances as the VRRP child last reported them, seen through the EngineView seam. */
export class RelayedInstances implements EngineView {
  readonly instances = new Map<string, { state: VrrpState }>();
  private readonly listeners = new Set<(ev: { instance: string; to: VrrpState }) => void>();

  onStateChange(fn: (ev: { instance: string; to: VrrpState }) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** `instance-state` / `instance-states` messages from the parent; anything else is ignored. */
  apply(msg: ParentToChild): void {
    if (msg.type === 'instance-states') {
      for (const s of msg.states) this.update(s);
    } else if (msg.type === 'instance-state') {
      this.update(msg);
    }
  }

  private update(msg: InstanceStateMessage): void {
    // A deleted instance is no longer MASTER anywhere here: its virtual servers must go.
    const to: VrrpState = msg.state === 'DELETED' ? 'STOP' : msg.state;
    const before = this.instances.get(msg.instance)?.state;
    if (msg.state === 'DELETED') this.instances.delete(msg.instance);
    else this.instances.set(msg.instance, { state: to });
    if (before === to) return;
    for (const l of this.listeners) l({ instance: msg.instance, to });
  }
}

export class CheckerSide {
  private constructor(
    private readonly hook: CheckersHook,
    private readonly log: Logger,
    private readonly scripts: { current: ReturnType<typeof scriptPreparerFor> },
  ) {}

  /** `view` undefined with -C (no VRRP child): every virtual server is installed. */
  /** `onStaged`: to the parent, which relays the gated virtual servers' rows to the VRRP child. */
  static async start(
    config: Config,
    options: DaemonOptions,
    log: Logger,
    view: EngineView | undefined,
    onStaged?: (msg: IpvsStagedMessage) => void,
  ): Promise<CheckerSide> {
    // MISC_CHECK and notify scripts are checked against each loaded file's global_defs (a reload
    // builds a new preparer), as keepalived checks them at every load.
    const scripts = { current: scriptPreparerFor(config, log) };
    const preparer = { prepareCommand: (cmd: Pick<ScriptCommand, 'command' | 'user' | 'group'>) => scripts.current.prepareCommand(cmd) };
    const hook = attachCheckers({ dontReleaseIpvs: options.dontReleaseIpvs, vrrpOnly: false }, { preparer, onStaged });
    await hook(view, config, log);
    scripts.current.reportSecurity?.('check');
    return new CheckerSide(hook, log, scripts);
  }

  async reload(config: Config): Promise<void> {
    this.scripts.current = scriptPreparerFor(config, this.log);
    await this.hook.runtime()?.reload(config);
    this.scripts.current.reportSecurity?.('check');
  }

  /** The checker child's part of the status snapshot. */
  async status(): Promise<Pick<StatusSnapshot, 'virtualServers'>> {
    return { virtualServers: (await this.hook.runtime()?.status()) ?? [] };
  }

  dump(what: DumpKind): DumpReply {
    const desired = this.hook.runtime()?.desired() ?? [];
    if (what === 'json') return { json: { ipvs: desired } };
    // keepalived's stats file is VRRP's only; the checker adds nothing to it.
    if (what !== 'data') return { text: '' };
    return {
      text: renderDataDump(
        desired.map((e) => ({ title: `Virtual server ${keyLabel(e.service.key)}`, body: { ...e.service, destinations: e.destinations } as unknown as Record<string, unknown> })),
        `lvskeeper checker data, ${new Date().toISOString()}`,
      ),
    };
  }

  async stop(): Promise<void> {
    try {
      await this.hook.stop();
    } catch (e) {
      this.log.error(`Checkers did not stop cleanly: ${(e as Error).message}`);
    }
  }
}
