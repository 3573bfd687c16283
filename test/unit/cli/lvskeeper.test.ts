// The lvskeeper command line, in-process (runCli) with injected host checks, plus one spawn of the
// built binary when dist/ exists (npm run build).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DaemonOptions } from '../../../src/daemon/options.js';
import { runCli, type CliIo } from '../../../src/cli/args.js';

const dir = mkdtempSync(join(tmpdir(), 'lvskeeper-cli-'));
function conf(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const GOOD = conf(
  'good.conf',
  'vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 10\n authentication {\n  auth_type PASS\n  auth_pass s3cr3t\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n',
);
const UNKNOWN = conf('unknown.conf', 'global_defs {\n bogus_keyword 1\n}\n');
const SCRIPTS = conf(
  'scripts.conf',
  'vrrp_script chk {\n script "/bin/true"\n}\nvrrp_instance VI_1 {\n interface eth0\n virtual_router_id 10\n virtual_ipaddress {\n  10.0.0.1\n }\n track_script {\n  chk\n }\n}\n',
);
const SECURE = conf('secure.conf', `global_defs {\n enable_script_security\n script_user nobody\n}\n${'vrrp_script chk {\n script "/bin/true"\n}\n'}`);
const BAD_IF = conf('badif.conf', 'vrrp_instance VI_1 {\n interface nosuch0\n virtual_router_id 10\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n');

async function run(args: string[], extra: Partial<CliIo> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    interfaceExists: (n) => n === 'eth0',
    scriptExists: () => true,
    userExists: () => false,
    ...extra,
  });
  return { code, stdout, stderr };
}

describe('lvskeeper -t', () => {
  it('exits 0 for a clean configuration and prints nothing', async () => {
    expect(await run(['-t', '-f', GOOD])).toEqual({ code: 0, stdout: '', stderr: '' });
  });
  it('exits 5 with file:line messages for an unknown keyword', async () => {
    const r = await run(['--config-test', '--use-file', UNKNOWN]);
    expect(r.code).toBe(5);
    expect(r.stderr).toBe(`${UNKNOWN}:2: Unknown keyword 'bogus_keyword'\n`);
  });
  it('exits 5 for a missing interface, as keepalived on the same host', async () => {
    const r = await run(['-t', '-f', BAD_IF]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("WARNING - interface nosuch0 for vrrp_instance VI_1 doesn't exist");
  });
  it('exits 4 when the file is missing (keepalived 2.2.7 exits 0: deliberate deviation)', async () => {
    const r = await run(['-t', '-f', join(dir, 'absent.conf')]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('Config files missing');
  });
  it('exits 6 when scripts would run as root without enable_script_security', async () => {
    const r = await run(['-t', '-f', SCRIPTS]);
    expect(r.code).toBe(6);
    expect(r.stderr).toContain('SECURITY VIOLATION - scripts are being executed but script_security not enabled.');
    // ... but not when a keepalived_script user exists, or script security is on.
    expect((await run(['-t', '-f', SCRIPTS], { userExists: (u) => u === 'keepalived_script' })).code).toBe(0);
    expect((await run(['-t', '-f', SECURE])).code).toBe(0);
  });
  it('reports a MISC_CHECK script with unsafe permissions at its file:line (refused: 5, runs: 6)', async () => {
    const unsafe = join(dir, 'misc-world-writable.sh');
    writeFileSync(unsafe, '#!/bin/sh\nexit 0\n');
    chmodSync(unsafe, 0o777);
    const body = (globalDefs: string): string =>
      `global_defs {\n${globalDefs} script_user root\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n` +
      ` real_server 10.0.1.1 80 {\n  MISC_CHECK {\n   misc_path "${unsafe} --port 80"\n  }\n }\n}\n`;
    const lineOf = (text: string): number => text.split('\n').findIndex((l) => l.includes('MISC_CHECK')) + 1;
    const secure = conf('misc-secure.conf', body(' enable_script_security\n'));
    let line = lineOf(body(' enable_script_security\n'));
    const refused = await run(['-t', '-f', secure]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toBe(
      `${secure}:${line}: Disabling misc script ${unsafe} --port 80 due to insecure: Unsafe permissions found for script '${unsafe}' - disabling.\n`,
    );
    const open = conf('misc-open.conf', body(''));
    line = lineOf(body(''));
    const runs = await run(['-t', '-f', open]);
    expect(runs.code).toBe(6);
    expect(runs.stderr).toContain(`${open}:${line}: Unsafe permissions found for script '${unsafe}'.\n`);
  });

  it.skipIf(process.getuid?.() !== 0)('finds a script the way it will run it: quoted words as keepalived splits them', async () => {
    mkdirSync(join(dir, 'with space'), { recursive: true });
    const script = join(dir, 'with space', 'chk.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    const text = `global_defs {\n enable_script_security\n script_user root\n}\nvrrp_script chk {\n script "'${script}' --port 80"\n}\n`;
    expect(await run(['-t', '-f', conf('quoted.conf', text)], { scriptExists: undefined })).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('writes the report to the --config-test=FILE log file', async () => {
    const log = join(dir, 'test.log');
    const r = await run([`--config-test=${log}`, '-f', UNKNOWN]);
    expect(r.code).toBe(5);
    expect(r.stderr).toBe('');
    expect(execFileSync('cat', [log]).toString()).toContain('bogus_keyword');
  });
});

describe('lvskeeper -d', () => {
  it('dumps the model as JSON with the password redacted', async () => {
    const r = await run(['-d', '-f', GOOD]);
    expect(r.code).toBe(0);
    const model = JSON.parse(r.stdout) as { vrrpInstances: Array<{ authentication: { password: string } }> };
    expect(model.vrrpInstances[0]!.authentication.password).toBe('<redacted>');
    expect(r.stdout).not.toContain('s3cr3t');
  });
});

describe('options', () => {
  it('rejects an unknown option with exit 2 and names it', async () => {
    const r = await run(['--bogus-option']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bogus-option');
  });
  it('refuses a positional word (a mistyped `lvskeeper status` must not start a daemon): exit 2, names it', async () => {
    let started = false;
    const r = await run(['status', '-f', GOOD], { runDaemon: async () => ((started = true), 0) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unexpected argument(s): status');
    expect(started).toBe(false);
  });
  it('prints keepalived 2.2.7 signal numbers, except catchable SIGURG/SIGWINCH for its realtime STATS_CLEAR/JSON', async () => {
    for (const [name, num] of [['STOP', 15], ['RELOAD', 1], ['DATA', 10], ['STATS', 12], ['STATS_CLEAR', 23], ['JSON', 28]] as const) {
      expect((await run([`--signum=${name}`])).stdout).toBe(`${num}\n`);
    }
    expect((await run(['--signum=NOPE'])).code).toBe(1);
  });
  it('fills DaemonOptions from keepalived option names and runs the daemon', async () => {
    let seen: DaemonOptions | undefined;
    let entered: string | undefined;
    const r = await run(['-f', GOOD, '-P', '-l', '-D', '-n', '-S', '3', '-g', '/tmp/l', '-G', '-V', '-I', '-R', '-X', '-p', '/tmp/p', '-r', '/tmp/r', '-c', '/tmp/c', '-i', 'high', '-s', 'ns1', '-u', '022', '--log-json'], {
      runDaemon: async (o) => {
        seen = o;
        return 7;
      },
      enterNamespace: (name) => void (entered = name),
    });
    expect(entered).toBe('ns1');
    expect(r.code).toBe(7);
    expect(seen).toEqual({
      configFile: GOOD,
      configId: 'high',
      vrrpOnly: true,
      checkOnly: false,
      logConsole: true,
      logDetail: true,
      logJson: true,
      logFacility: '3',
      logFile: '/tmp/l',
      noSyslog: true,
      dontReleaseVrrp: true,
      dontReleaseIpvs: true,
      dontRespawn: true,
      releaseVips: true,
      pidFile: '/tmp/p',
      vrrpPidFile: '/tmp/r',
      checkersPidFile: '/tmp/c',
      namespace: 'ns1',
      umask: 0o22,
    });
  });
  it('-s NAME: pid files under /run/lvskeeper/NAME/ unless named; a namespace that cannot be entered stops before the daemon', async () => {
    let seen: DaemonOptions | undefined;
    await run(['-s', 'blue', '-r', '/tmp/r'], { runDaemon: async (o) => ((seen = o), 0), enterNamespace: () => undefined });
    expect(seen).toMatchObject({ namespace: 'blue', pidFile: '/run/lvskeeper/blue/lvskeeper.pid', vrrpPidFile: '/tmp/r', checkersPidFile: '/run/lvskeeper/blue/checkers.pid' });
    let ran = false;
    const r = await run(['-s', 'nosuch'], { runDaemon: async () => ((ran = true), 0), enterNamespace: () => '/run/netns/nosuch does not exist (ip netns add nosuch)' });
    expect(ran).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('lvskeeper: Unable to set network namespace nosuch - exiting: /run/netns/nosuch does not exist (ip netns add nosuch)\n');
  });
  it('uses keepalived defaults for the config file and pid files', async () => {
    let seen: DaemonOptions | undefined;
    await run([], { runDaemon: async (o) => ((seen = o), 0) });
    expect(seen).toMatchObject({ configFile: '/etc/keepalived/keepalived.conf', pidFile: '/run/lvskeeper.pid', vrrpPidFile: '/run/lvskeeper_vrrp.pid', checkersPidFile: '/run/lvskeeper_checkers.pid' });
  });
});

const BIN = new URL('../../../dist/cli/lvskeeper.js', import.meta.url).pathname;
describe.skipIf(!existsSync(BIN))('built binary', () => {
  it('runs -t as a process with the same exit code and imports no daemon modules statically', () => {
    const r = spawnSync(process.execPath, ['--trace-warnings', BIN, '-t', '-f', UNKNOWN], { encoding: 'utf8' });
    expect(r.status).toBe(5);
    expect(r.stderr).toContain("Unknown keyword 'bogus_keyword'");
    // The static import graph of the binary (dynamic import() excluded) must not reach the daemon.
    const seen = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gm)) {
        const spec = m[1]!;
        if (spec.startsWith('.')) walk(join(dirname(file), spec));
        else seen.add(spec);
      }
    };
    walk(BIN);
    const loaded = [...seen].join(' ');
    expect(loaded).toContain('config/parse.js');
    expect(loaded).not.toMatch(/pino|raw-socket|netlink|daemon\/run/);
  });
});
