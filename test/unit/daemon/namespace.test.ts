// net_namespace / instance / use_pid_dir, as keepalived's main.c applies them: the namespace to enter
// (-s wins and says so) and the pid files (/run/lvskeeper/[NS/]NAME[_INSTANCE].pid unless -p/-r/-c).
import { describe, expect, it } from 'vitest';
import { pidFilesFor } from '../../../src/daemon/namespace.js';
import { placeDaemon } from '../../../src/daemon/run.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { DEFAULT_CHECKERS_PID_FILE, DEFAULT_PID_FILE, DEFAULT_VRRP_PID_FILE } from '../../../src/daemon/process/pidfile.js';
import type { DaemonOptions } from '../../../src/daemon/options.js';
import { parseText } from '../config/helpers.js';

const noDir = (): void => undefined;
const defaults = { pidFile: DEFAULT_PID_FILE, vrrpPidFile: DEFAULT_VRRP_PID_FILE, checkersPidFile: DEFAULT_CHECKERS_PID_FILE };

describe('pid files', () => {
  it('default, use_pid_dir, instance, namespace, both; a named file is kept', () => {
    expect(pidFilesFor(defaults, {})).toEqual(defaults);
    expect(pidFilesFor(defaults, { usePidDir: true })).toEqual({ pidFile: '/run/lvskeeper/lvskeeper.pid', vrrpPidFile: '/run/lvskeeper/vrrp.pid', checkersPidFile: '/run/lvskeeper/checkers.pid' });
    expect(pidFilesFor(defaults, { instance: 'web' }).vrrpPidFile).toBe('/run/lvskeeper/vrrp_web.pid');
    expect(pidFilesFor(defaults, { namespace: 'blue', instance: 'web' }).pidFile).toBe('/run/lvskeeper/blue/lvskeeper_web.pid');
    expect(pidFilesFor({ ...defaults, pidFile: '/tmp/p' }, { instance: 'web' }).pidFile).toBe('/tmp/p');
    // What -s alone chose is refined by the configuration's instance.
    expect(pidFilesFor({ ...defaults, pidFile: '/run/lvskeeper/blue/lvskeeper.pid' }, { namespace: 'blue', instance: 'web' }).pidFile).toBe('/run/lvskeeper/blue/lvskeeper_web.pid');
  });
});

describe('net_namespace', () => {
  const options = { configFile: '/etc/keepalived/keepalived.conf', ...defaults } as DaemonOptions;
  const global = (text: string) => parseText(text).config.global;

  it('the configuration names it: entered, pid files under its directory', () => {
    const entered: string[] = [];
    const o = placeDaemon(options, global('net_namespace blue\ninstance web\n'), createMemoryLogger(), (n) => void entered.push(n), noDir);
    expect(entered).toEqual(['blue']);
    expect(o).toMatchObject({ namespace: 'blue', pidFile: '/run/lvskeeper/blue/lvskeeper_web.pid' });
  });

  it('-s wins over the configuration and says so; nothing else is entered', () => {
    const log = createMemoryLogger();
    const entered: string[] = [];
    const o = placeDaemon({ ...options, namespace: 'red' }, global('net_namespace blue\n'), log, (n) => void entered.push(n), noDir);
    expect(entered).toEqual([]);
    expect(o?.namespace).toBe('red');
    expect(log.lines.map((l) => l.msg)).toContain("Overriding config net_namespace 'blue' with command line namespace 'red'");
  });

  it('a namespace that cannot be entered stops the daemon with keepalived\'s message', () => {
    const log = createMemoryLogger();
    expect(placeDaemon(options, global('net_namespace nosuch\n'), log, () => '/run/netns/nosuch does not exist')).toBeUndefined();
    expect(log.lines.map((l) => l.msg)).toContain('Unable to set network namespace nosuch - exiting: /run/netns/nosuch does not exist');
  });

  it("keepalived's messages for the root keywords", () => {
    const r = parseText('net_namespace\nnet_namespace a\nnet_namespace b\ninstance\ninstance x\ninstance y\nuse_pid_dir\n');
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'net_namespace name missing - ignoring',
      'Duplicate net_namespace definition b - ignoring',
      'instance name missing - ignoring',
      'Duplicate instance definition y - ignoring',
    ]);
    expect(r.config.global).toMatchObject({ netNamespace: 'a', instanceName: 'x', usePidDir: true });
  });
});
