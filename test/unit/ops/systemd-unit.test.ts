// systemd/lvskeeper.service must pass `systemd-analyze verify` without a single warning about it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const unitText = readFileSync(fileURLToPath(new URL('../../../systemd/lvskeeper.service', import.meta.url)), 'utf8');
const defaultsText = readFileSync(fileURLToPath(new URL('../../../systemd/lvskeeper.default', import.meta.url)), 'utf8');
const hasAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).status === 0;

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'lko-unit-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** verify a copy whose ExecStart names an existing executable; returns exit code and warnings about our unit. */
function verify(text: string): { status: number | null; ours: string[]; all: string } {
  const path = join(dir, 'lvskeeper.service');
  writeFileSync(path, text.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
  const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
  const all = `${r.stdout}${r.stderr}`;
  return { status: r.status, ours: all.split('\n').filter((l) => l.includes('lvskeeper.service')), all };
}

function directives(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const x = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (x) m.set(x[1]!, [...(m.get(x[1]!) ?? []), x[2]!]);
  }
  return m;
}

describe('systemd unit', () => {
  it.skipIf(!hasAnalyze)('passes systemd-analyze verify with no warning about it', () => {
    const r = verify(unitText);
    expect(r.ours, r.all).toEqual([]);
    expect(r.status, r.all).toBe(0);
  });

  it.skipIf(!hasAnalyze)('the check does catch a broken unit', () => {
    expect(verify(unitText.replace('[Service]', '[Service]\nNotAKey=1')).ours.join('\n')).toMatch(/Unknown key '?NotAKey'?/);
    const missing = join(dir, 'missing');
    const path = join(dir, 'lvskeeper.service');
    writeFileSync(path, unitText.replace(/^ExecStart=\S+/m, `ExecStart=${missing}`));
    expect(spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' }).status).not.toBe(0);
  });

  it('is Type=notify from the main process, reloads with HUP, reads /etc/default/lvskeeper, starts after the network', () => {
    const d = directives(unitText);
    expect(d.get('Type')).toEqual(['notify']);
    expect(d.get('NotifyAccess')).toEqual(['main']);
    expect(d.get('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(d.get('EnvironmentFile')).toEqual(['-/etc/default/lvskeeper']);
    expect(d.get('After')).toEqual(['network-online.target']);
    expect(d.get('ExecStart')![0]).toMatch(/^\/\S+\/lvskeeper --dont-fork \$DAEMON_ARGS$/);
    expect(defaultsText).toMatch(/^DAEMON_ARGS=""$/m);
  });

  it('keeps what VRRP, IPVS, GARP, sd_notify and scripts need', () => {
    const d = directives(unitText);
    const caps = d.get('CapabilityBoundingSet')![0]!.split(' ');
    for (const c of ['CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_MODULE', 'CAP_SETUID', 'CAP_SETGID', 'CAP_KILL', 'CAP_SYS_NICE']) expect(caps).toContain(c);
    expect(d.get('RestrictAddressFamilies')![0]!.split(' ').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET', 'AF_UNIX']);
    expect(d.has('MemoryDenyWriteExecute')).toBe(false); // V8 JIT
    expect(d.has('PrivateNetwork')).toBe(false);
    expect(d.get('ProtectSystem')).toEqual(['full']);
    expect(d.get('ProtectHome')).toEqual(['true']);
  });
});
