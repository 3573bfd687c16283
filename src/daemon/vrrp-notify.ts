// keepalived notify scripts for VRRP instances (vrrp_notify.c): on each state change run the state's
// own script (notify_master/backup/fault/stop, with only their configured arguments) and the generic
// `notify` script with `INSTANCE NAME STATE PRIORITY` appended. Fire-and-forget: order between scripts
// is not guaranteed (as keepalived); notify_fifo gives ordered delivery and is wired separately.
import type { Config, NotifyScripts, ScriptCommand } from '../config/model.js';
import type { ScriptPreparer } from '../scripts/script-security.js';
import { defaultSpawner, type ScriptSpawner } from '../scripts/spawn.js';
import type { NotifyState } from '../vrrp/state-machine.js';
import type { Logger } from './log.js';

export interface NotifyEvent {
  instance: string;
  state: NotifyState;
  priority: number;
}

export class VrrpNotifier {
  private readonly byInstance = new Map<string, NotifyScripts>();
  constructor(
    config: Config,
    private readonly preparer: Pick<ScriptPreparer, 'prepareCommand'> | undefined,
    private readonly log: Logger,
    private readonly spawner: ScriptSpawner = defaultSpawner,
  ) {
    for (const i of config.vrrpInstances) this.byInstance.set(i.name, i.notify);
  }

  notify(ev: NotifyEvent): void {
    const n = this.byInstance.get(ev.instance);
    if (!n || !this.preparer) return;
    const own: ScriptCommand | undefined =
      ev.state === 'MASTER' ? n.master : ev.state === 'BACKUP' ? n.backup : ev.state === 'FAULT' ? n.fault : n.stop;
    if (own) this.run(own, []);
    if (n.generic) this.run(n.generic, ['INSTANCE', ev.instance, ev.state, String(ev.priority)]);
  }

  masterRxLowerPri(ev: { instance: string; priority: number }): void {
    const n = this.byInstance.get(ev.instance);
    if (n?.masterRxLowerPri) this.run(n.masterRxLowerPri, []);
  }

  private run(cmd: ScriptCommand, args: string[]): void {
    try {
      const p = this.preparer!.prepareCommand(cmd);
      if (!p.ok) {
        this.log.warn(`Cannot run notify script ${cmd.command}: ${p.message}`);
        return;
      }
      const r = this.spawner(p.script, args);
      void r.exited.then((x) => {
        if (x.spawnError) this.log.warn(`Error exec-ing notify script ${cmd.command}: ${x.spawnError.message}`);
      });
    } catch (e) {
      this.log.warn(`notify script ${cmd.command} failed: ${(e as Error).message}`);
    }
  }
}
