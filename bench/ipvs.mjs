// Benchmark (not a test): restore 1,000 services x 10 destinations from one rules file with `lvsadm -R`
// and with `ipvsadm -R`, alternating (table cleared between runs), then list the loaded table with -Ln
// both ways. Node start-up is included in every lvsadm figure. Runs inside the kernel VM:
//   npm run build:lvsadm && npm run bench:ipvs
// Options (environment): BENCH_ROUNDS (default 3), BENCH_SERVICES (1000), BENCH_DESTS (10),
// Measures the launcher dist/lvsadm (the CommonJS bundle dist/lvsadm.cjs, which is also the installed bin, or a
// V8 start-up snapshot if built with --snapshot) and the ES module bundle dist/lvsadm.mjs (what
// `node dist/cli/lvsadm.js` runs from a build).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const services = Number(process.env.BENCH_SERVICES ?? 1000);
const dests = Number(process.env.BENCH_DESTS ?? 10);
const launcher = join(root, 'dist/lvsadm');
const bundled = join(root, 'dist/lvsadm.mjs');
if (!existsSync(launcher) || !existsSync(bundled)) throw new Error('run npm run build:lvsadm first');

const tools = {
  ipvsadm: ['ipvsadm'],
  lvsadm: [launcher],
  'lvsadm.mjs': [process.execPath, bundled],
};
const names = Object.keys(tools);

function rulesFile() {
  const lines = [];
  for (let s = 0; s < services; s++) {
    const vip = `10.${100 + (s >> 8)}.${s & 255}.1`;
    lines.push(`-A -t ${vip}:80 -s wrr`);
    for (let d = 0; d < dests; d++) {
      lines.push(`-a -t ${vip}:80 -r 172.${16 + (s >> 8)}.${s & 255}.${d + 10}:8080 -m -w ${d + 1}`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-ipvs-'));
  const file = join(dir, 'rules');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, lines: lines.length };
}

/** Runs a command with stdin from a file and stdout to /dev/null; returns wall seconds. */
function timed(argv, stdinFile) {
  const quoted = argv.map((a) => `'${a}'`).join(' ');
  const cmd = `${quoted}${stdinFile ? ` < '${stdinFile}'` : ''} > /dev/null`;
  const t0 = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr}`);
  return seconds;
}

const run = (argv) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 28 });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `median ${median(xs).toFixed(2)} s  (runs: ${xs.map((x) => x.toFixed(2)).join(', ')})`;

const { file, lines } = rulesFile();
console.log(`lvsadm = ${launcher} (launcher); lvsadm.mjs = node ${bundled}`);
console.log(`rules: ${services} services x ${dests} destinations = ${lines} lines; ${rounds} rounds, alternating`);
console.log(`node start-up alone (node -e 0): ${timed([process.execPath, '-e', '0']).toFixed(2)} s`);

const rotate = (i) => [...names.slice(i % names.length), ...names.slice(0, i % names.length)];
const restore = Object.fromEntries(names.map((n) => [n, []]));
let reference;
for (let i = 0; i < rounds; i++) {
  for (const name of rotate(i)) {
    run(['ipvsadm', '-C']);
    restore[name].push(timed([...tools[name], '-R'], file));
    const saved = run(['ipvsadm', '-Sn']).stdout;
    reference ??= saved;
    if (saved !== reference) throw new Error(`${name} -R produced a different table`);
  }
}
const ln = Object.fromEntries(names.map((n) => [n, []]));
let listing;
for (let i = 0; i < rounds; i++) {
  for (const name of rotate(i)) {
    ln[name].push(timed([...tools[name], '-Ln']));
    const out = run([...tools[name], '-Ln']).stdout;
    listing ??= out;
    if (out !== listing) {
      const dir = mkdtempSync(join(tmpdir(), 'bench-ipvs-ln-'));
      writeFileSync(join(dir, 'expected'), listing);
      writeFileSync(join(dir, name), out);
      throw new Error(`${name} -Ln printed a different listing (see ${dir})`);
    }
  }
}
run(['ipvsadm', '-C']);

for (const n of names) console.log(`${n.padEnd(10)} -R:  ${fmt(restore[n])}`);
for (const n of names) console.log(`${n.padEnd(10)} -Ln: ${fmt(ln[n])}`);
for (const n of names.slice(1)) {
  console.log(
    `${n} / ipvsadm: -R ${(median(restore[n]) / median(restore.ipvsadm)).toFixed(2)}, ` +
      `-Ln ${(median(ln[n]) / median(ln.ipvsadm)).toFixed(2)}`,
  );
}
