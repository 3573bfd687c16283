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

function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { s, status: r.status };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ours = [];
const ref = [];
let oursStatus;
let refStatus;
for (let i = 0; i < runs; i++) {
  const a = time(process.execPath, [bin, '-t', '-f', file]);
  ours.push(a.s);
  oursStatus = a.status;
  if (keepalived) {
    const b = time(keepalived, ['-t', '-f', file]);
    ref.push(b.s);
    refStatus = b.status;
  }
}
rmSync(dir, { recursive: true, force: true });

const fmt = (s) => `${s.toFixed(3)} s`;
const oursMed = median(ours);
const refMed = keepalived ? median(ref) : undefined;
console.log(`config: ${lines} lines (2000 VS x 20 RS, TCP_CHECK); ${runs} runs each, alternating`);
console.log(`lvskeeper -t: median ${fmt(oursMed)} (exit ${oursStatus}) runs ${ours.map((x) => x.toFixed(3)).join(' ')}`);
if (refMed !== undefined) console.log(`keepalived -t: median ${fmt(refMed)} (exit ${refStatus}) runs ${ref.map((x) => x.toFixed(3)).join(' ')}`);
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
    '| Date | lvskeeper -t | keepalived -t | Node |',
    '| --- | --- | --- | --- |',
    `| ${date} | ${fmt(oursMed)} | ${refMed !== undefined ? fmt(refMed) : 'n/a'} | ${process.version} |`,
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
