// sd_notify against a real systemd: a transient Type=notify, NotifyAccess=main service that uses
// dist/daemon/process/sd-notify.js. Needs root, a running systemd (PID 1) and `npm run build`;
// skipped otherwise (containers and CI sandboxes without systemd).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../../../dist/daemon/process/sd-notify.js', import.meta.url));
const systemdRuns = existsSync('/run/systemd/system') && process.getuid?.() === 0;
const unit = `lko-notify-${process.pid}`;
let dir: string | undefined;

const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });
const show = (prop: string) => sh('systemctl', ['show', '-p', prop, '--value', `${unit}.service`]).stdout.trim();

afterAll(() => {
  if (systemdRuns) {
    sh('systemctl', ['stop', `${unit}.service`]);
    sh('systemctl', ['reset-failed', `${unit}.service`]);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!systemdRuns || !existsSync(dist))('sd_notify with systemd', () => {
  it('systemd accepts READY, STATUS, RELOADING/READY and STOPPING from the main process', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lko-sdreal-'));
    const script = join(dir, 'svc.mjs');
    writeFileSync(
      script,
      `import { createNotifier } from ${JSON.stringify(dist)};
const n = createNotifier();
n.ready('lko up');
process.on('SIGHUP', () => { n.reloading('lko reloading'); setTimeout(() => n.ready('lko reloaded'), 200); });
process.on('SIGTERM', () => { n.stopping('lko stopping'); setTimeout(() => process.exit(0), 100); });
setInterval(() => {}, 1 << 30);
`,
    );
    // returns once READY=1 arrived (Type=notify); fails after the timeout if it never does
    const r = sh('systemd-run', ['--unit', unit, '-p', 'Type=notify', '-p', 'NotifyAccess=main', '-p', 'TimeoutStartSec=15', process.execPath, script]);
    expect(r.status, r.stderr).toBe(0);
    expect(show('ActiveState')).toBe('active');
    expect(show('StatusText')).toBe('lko up');
    sh('systemctl', ['kill', '-s', 'HUP', `${unit}.service`]);
    const end = Date.now() + 5000;
    while (show('StatusText') !== 'lko reloaded' && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
    expect(show('StatusText')).toBe('lko reloaded');
    expect(show('ActiveState')).toBe('active');
    expect(sh('systemctl', ['stop', `${unit}.service`]).status).toBe(0);
  }, 60_000);
});
