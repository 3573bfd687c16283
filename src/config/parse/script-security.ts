// Script security for `-t` (keepalived -t exit 6; check_script_security in notify.c).

import type { NotifyScripts, ScriptCommand, SourceLocation } from '../model.js';
import type { ParseContext } from './context.js';

export function checkScriptSecurity(ctx: ParseContext): boolean {
  const checks = ctx.options.scriptChecks;
  if (checks === undefined) return false;
  const g = ctx.config.global;
  const keepalivedScriptExists = checks.userExists('keepalived_script');
  // vrrp_script commands that cannot be found are disabled (a config error in 2.2.7).
  const usable: Array<{ command: string; user?: string | undefined; at: SourceLocation }> = [];
  ctx.config.vrrpScripts = ctx.config.vrrpScripts.filter((s) => {
    if (g.enableScriptSecurity && s.user === undefined && g.scriptUser === undefined && !keepalivedScriptExists) {
      ctx.engine.error('Unable to set default user keepalived_script for script', undefined, s.location);
      ctx.engine.error(`Unable to set default user for vrrp script ${s.name} - removing`, undefined, s.location);
      return false;
    }
    if (!checks.scriptExists(s.script)) {
      ctx.engine.error(`Disabling track script ${s.name} since not found/accessible`, undefined, s.location);
      return false;
    }
    usable.push({ command: s.script, user: s.user, at: s.location });
    return true;
  });
  const names = new Set(ctx.config.vrrpScripts.map((s) => s.name));
  for (const vi of ctx.config.vrrpInstances) {
    vi.trackScripts = vi.trackScripts.filter((t) => {
      if (names.has(t.name)) return true;
      ctx.engine.error(`(${vi.name}) track script ${t.name} not found, ignoring...`, undefined, t.location);
      return false;
    });
  }
  const others: ScriptCommand[] = [];
  const addNotify = (n: NotifyScripts): void => {
    for (const s of Object.values(n)) if (s) others.push(s);
  };
  for (const vi of ctx.config.vrrpInstances) addNotify(vi.notify);
  for (const sg of ctx.config.vrrpSyncGroups) addNotify(sg.notify);
  for (const vs of ctx.config.virtualServers) {
    if (vs.quorumUp) others.push(vs.quorumUp);
    if (vs.quorumDown) others.push(vs.quorumDown);
    for (const rs of vs.realServers) {
      if (rs.notifyUp) others.push(rs.notifyUp);
      if (rs.notifyDown) others.push(rs.notifyDown);
      for (const c of rs.checkers) if (c.kind === 'MISC_CHECK') others.push({ command: c.path, user: c.user, location: c.location });
    }
  }
  for (const f of [g.notifyFifo, g.vrrpNotifyFifo, g.lvsNotifyFifo]) if (f?.script) others.push(f.script);
  for (const s of others) if (checks.scriptExists(s.command)) usable.push({ command: s.command, user: s.user, at: s.location });
  if (g.enableScriptSecurity || usable.length === 0) return false;
  const defaultUser = g.scriptUser?.user ?? (keepalivedScriptExists ? 'keepalived_script' : 'root');
  const asRoot = usable.some((s) => (s.user ?? defaultUser) === 'root');
  if (!asRoot) return false;
  const first = usable[0]!;
  ctx.diagnostics.push({
    severity: 'error',
    file: first.at.file,
    line: first.at.line,
    message: 'SECURITY VIOLATION - scripts are being executed but script_security not enabled.',
    keyword: 'enable_script_security',
  });
  return true;
}
