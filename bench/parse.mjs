// npm run bench:parse — whole-process `lvskeeper -t -f F` vs `keepalived -t -f F` on a generated
// config (2,000 virtual servers x 20 real servers with TCP_CHECK, ~370k lines). Runs alternate;
// medians are printed and recorded in BENCHMARKS.md ("## Config parsing").
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLargeConfig } from './lib/gen-config.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist/cli/lvskeeper.js');
if (!existsSync(bin)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

const runs = Number(process.env.BENCH_RUNS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'lvskeeper-bench-'));
const file = join(dir, 'keepalived.conf');
const text = generateLargeConfig();
writeFileSync(file, text);
const lines = text.split('\n').length - 1;
const keepalived = ['/usr/sbin/keepalived', '/usr/local/sbin/keepalived'].find((p) => existsSync(p));

// CPU time (user+sys) via GNU time when present: wall time alone is noisy on a shared machine.
const gnuTime = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = gnuTime
    ? spawnSync(gnuTime, ['-f', '@@cpu %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 })
    : spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /@@cpu ([\d.]+) ([\d.]+)/.exec(r.stderr ?? '');
  return { s, cpu: m ? Number(m[1]) + Number(m[2]) : undefined, status: r.status };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ours = [];
const ref = [];
const oursCpu = [];
const refCpu = [];
let oursStatus;
let refStatus;
for (let i = 0; i < runs; i++) {
  const a = time(process.execPath, [bin, '-t', '-f', file]);
  ours.push(a.s);
  if (a.cpu !== undefined) oursCpu.push(a.cpu);
  oursStatus = a.status;
  if (keepalived) {
    const b = time(keepalived, ['-t', '-f', file]);
    ref.push(b.s);
    if (b.cpu !== undefined) refCpu.push(b.cpu);
    refStatus = b.status;
  }
}
rmSync(dir, { recursive: true, force: true });

const fmt = (s) => `${s.toFixed(3)} s`;
const oursMed = median(ours);
const refMed = keepalived ? median(ref) : undefined;
console.log(`config: ${lines} lines (2000 VS x 20 RS, TCP_CHECK); ${runs} runs each, alternating`);
const oursCpuMed = oursCpu.length ? median(oursCpu) : undefined;
const refCpuMed = refCpu.length ? median(refCpu) : undefined;
const cpuText = (c) => (c === undefined ? '' : `, cpu ${fmt(c)}`);
console.log(`lvskeeper -t: median ${fmt(oursMed)}${cpuText(oursCpuMed)} (exit ${oursStatus}) runs ${ours.map((x) => x.toFixed(3)).join(' ')}`);
if (refMed !== undefined) console.log(`keepalived -t: median ${fmt(refMed)}${cpuText(refCpuMed)} (exit ${refStatus}) runs ${ref.map((x) => x.toFixed(3)).join(' ')}`);
else console.log('keepalived: not installed, no comparison');

if (process.env.BENCH_NO_RECORD !== '1') {
  const md = join(root, 'BENCHMARKS.md');
  const date = new Date().toISOString().slice(0, 10);
  const section = [
    '## Config parsing',
    '',
    'Whole-process time of `lvskeeper -t -f F` vs `keepalived -t -f F` (2.2.7) on a generated config of',
    `${lines} lines (2,000 virtual servers x 20 real servers, each with a TCP_CHECK; generator: bench/lib/gen-config.mjs).`,
    `Runs alternate, ${runs} of each; medians. Reproduce with \`npm run bench:parse\` (BENCH_RUNS=N to change the count).`,
    '',
    'Wall time is noisy on a shared machine, so CPU time (user+sys, GNU time) is recorded too.',
    'keepalived exits 5 on this config only because the generated instance uses `lo`, which VRRP refuses;',
    'it parses the whole file all the same.',
    '',
    '| Date | lvskeeper -t wall | keepalived -t wall | lvskeeper -t CPU | keepalived -t CPU | Node |',
    '| --- | --- | --- | --- | --- | --- |',
    `| ${date} | ${fmt(oursMed)} | ${refMed !== undefined ? fmt(refMed) : 'n/a'} | ${oursCpuMed !== undefined ? fmt(oursCpuMed) : 'n/a'} | ${refCpuMed !== undefined ? fmt(refCpuMed) : 'n/a'} | ${process.version} |`,
    '',
  ].join('\n');
  let doc = existsSync(md) ? readFileSync(md, 'utf8') : '# Benchmarks\n\n';
  const start = doc.indexOf('## Config parsing');
  if (start >= 0) {
    const next = doc.indexOf('\n## ', start + 1);
    doc = doc.slice(0, start) + section + (next >= 0 ? doc.slice(next + 1) : '');
  } else doc = `${doc.trimEnd()}\n\n${section}`;
  writeFileSync(md, doc);
  console.log(`recorded in ${md}`);
}
