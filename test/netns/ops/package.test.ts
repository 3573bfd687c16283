// npm pack → npm install -g into a temporary prefix → the bins run; and scripts/install.sh end to
// end (unit with the real ExecStart path, verified by systemd-analyze, default file kept if present).
// Works on a private copy of the package, so the work tree's dist/ is never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).status === 0;

let work: string;
let pkg: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lko-pkg-'));
  pkg = join(work, 'lvskeeper');
  mkdirSync(pkg);
  for (const f of ['package.json', 'package-lock.json', 'README.md', 'binding.gyp', 'native', 'systemd', 'config', 'scripts']) {
    if (existsSync(join(root, f))) cpSync(join(root, f), join(pkg, f), { recursive: true });
  }
  // dist/ as `npm run build` makes it, but into the copy
  spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], {
    stdio: 'ignore',
  });
  // and its lvsadm bundles (the installed lvsadm is dist/lvsadm.cjs), from this checkout's `npm run build`
  for (const f of ['lvsadm.cjs', 'lvsadm.mjs']) {
    if (!existsSync(join(root, 'dist', f))) throw new Error(`dist/${f} missing: run npm run build first`);
    cpSync(join(root, 'dist', f), join(pkg, 'dist', f));
  }
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm package', () => {
  it('npm pack ships the bins, the addon sources and the unit, and no sources or tests', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: pkg, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string; mode: number }> }>)[0]!.files;
    const paths = files.map((f) => f.path);
    for (const p of ['dist/cli/lvskeeper.js', 'dist/lvsadm.cjs', 'dist/cli/lvsadm.js', 'dist/daemon/process/supervisor.js', 'binding.gyp', 'native/lvskeeper_net.c', 'systemd/lvskeeper.service', 'systemd/lvskeeper.default', 'package.json']) {
      expect(paths).toContain(p);
    }
    expect(paths.filter((p) => p.startsWith('src/') || p.startsWith('test/') || p.startsWith('node_modules/') || p.startsWith('build/'))).toEqual([]);
  });

  it('scripts/install.sh installs globally into a prefix; lvskeeper --help and lvsadm -h run; the unit names the real path', () => {
    const prefix = join(work, 'prefix');
    const unitDir = join(work, 'units');
    const defaultFile = join(work, 'etc-default', 'lvskeeper');
    const r = spawnSync('sh', [join(pkg, 'scripts', 'install.sh'), '--no-build', '--no-daemon-reload', '--prefix', prefix, '--unit-dir', unitDir, '--default-file', defaultFile], {
      cwd: pkg,
      encoding: 'utf8',
      env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_loglevel: 'error' },
    });
    expect(r.stderr + r.stdout).not.toMatch(/install\.sh: (could not|.*failed|.*warns)/);
    expect(r.status, r.stderr).toBe(0);
    const bin = join(prefix, 'bin', 'lvskeeper');
    const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    expect(help.status, `lvskeeper --help: ${help.stderr}`).toBe(0);
    const lvsadm = spawnSync(join(prefix, 'bin', 'lvsadm'), ['-h'], { encoding: 'utf8' });
    expect(lvsadm.status, lvsadm.stderr).toBe(0);
    expect(lvsadm.stdout).toMatch(/^ipvsadm v1\.31 .*\nUsage:\n  lvsadm -A\|E/s); // its own name, from the link
    // the CommonJS bundle: no ES module loader at start-up
    expect(realpathSync(join(prefix, 'bin', 'lvsadm'))).toMatch(/\/dist\/lvsadm\.cjs$/);
    const unit = readFileSync(join(unitDir, 'lvskeeper.service'), 'utf8');
    expect(unit).toContain(`\nExecStart=${bin} --dont-fork $DAEMON_ARGS\n`);
    expect(readFileSync(defaultFile, 'utf8')).toContain('DAEMON_ARGS=');
    // the native addon was built by npm in the installed package (sd_notify and GARP need it)
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'lvskeeper', 'build', 'Release', 'lvskeeper_net.node'))).toBe(true);

    // a second run keeps the operator's defaults file
    writeFileSync(defaultFile, 'DAEMON_ARGS="-D"\n');
    const r2 = spawnSync('sh', [join(pkg, 'scripts', 'install.sh'), '--no-build', '--no-daemon-reload', '--prefix', prefix, '--unit-dir', unitDir, '--default-file', defaultFile], {
      cwd: pkg,
      encoding: 'utf8',
      env: { ...process.env, npm_config_prefer_offline: 'true', npm_config_loglevel: 'error' },
    });
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stdout).toContain(`kept the existing ${defaultFile}`);
    expect(readFileSync(defaultFile, 'utf8')).toBe('DAEMON_ARGS="-D"\n');
    if (hasSystemdAnalyze) {
      const v = spawnSync('systemd-analyze', ['verify', join(unitDir, 'lvskeeper.service')], { encoding: 'utf8' });
      expect(v.status, v.stderr).toBe(0);
      expect(v.stderr).not.toContain('lvskeeper.service');
    }
  }, 600_000);
});
