#!/usr/bin/env node
// VRRP failover benchmark: keepalived 2.2.7 pairs and lvskeeper pairs in the same namespace topology
// (a bridge with nodes A prio 150 and B prio 90, VRRPv2, advert_int 1, PASS), adverts and GARPs
// captured with tshark in B, VIP additions with `ip -t monitor address` in B. Reports medians over N
// takeovers of:
//   (a) link loss: gap from A's last advert to B's first advert, minus the ideal Master_Down_Interval
//       (3 × 1 s + (256 − 90)/256 s = 3648.4375 ms);
//   (b) graceful stop: gap from A's priority-0 advert to B's first advert, minus Skew_Time (648.4375 ms);
//   (c) B entering MASTER (its first advert) → VIP present (ip monitor) and → first GARP on the wire;
//       for lvskeeper also → the VIP's virtual server in IPVS, which it installs before the VIP (its log:
//       from the takeover's first advert to the kernel's last answer; keepalived's is always installed).
//       Run it in the kernel VM for a figure with IPVS: sh scripts/in-vm.sh node bench/failover.mjs
//   (d) A's advert jitter (|interval − 1 s|, p99 and max) while A is steady MASTER, first left alone, then
//       scraped every second the way each is monitored: lvskeeper's /metrics from B's namespace plus
//       `lvskeeper status`; keepalived's JSON dump signal + reading /tmp/keepalived.json, which is what
//       the keepalived exporters do at each scrape.
// Usage: sudo node bench/failover.mjs [--n 10] [--scrape-s 60] [--only keepalived|lvskeeper] [--write]
//   --write replaces the "## VRRP failover" section of BENCHMARKS.md with the results.
//   BENCH_KEEP=1 keeps the run's directory (configs, the tshark capture in B) and prints its path.
// Needs root, tshark, /usr/sbin/keepalived, and `npm run build` (dist/cli/lvskeeper.js).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = process.env.LKV_DIST ? resolve(process.env.LKV_DIST) : join(REPO, 'dist');
const LVSKEEPER = join(DIST, 'cli/lvskeeper.js');
const KEEPALIVED = '/usr/sbin/keepalived';
const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(arg('n', '10'));
const SCRAPE_S = Number(arg('scrape-s', '60'));
const ONLY = arg('only', undefined);
const WRITE = args.includes('--write');

const P = 'lkb-';
const NS = { sw: `${P}sw`, a: `${P}a`, b: `${P}b` };
const IP = { a: '10.88.0.11', b: '10.88.0.12' };
const VIP = '10.88.0.200';
const IDEAL_DOWN_MS = 3000 + (166 * 1000) / 256;
const IDEAL_SKEW_MS = (166 * 1000) / 256;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function sh(cmd, argv, allowFail = false) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (r.status !== 0 && !allowFail) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function topoDown() {
  for (const n of Object.values(NS)) sh('ip', ['netns', 'del', n], true);
}
function topoUp() {
  topoDown();
  sh('ip', ['netns', 'add', NS.sw]);
  sh('ip', ['-n', NS.sw, 'link', 'add', 'br0', 'type', 'bridge']);
  sh('ip', ['-n', NS.sw, 'link', 'set', 'br0', 'up']);
  for (const n of ['a', 'b']) {
    sh('ip', ['netns', 'add', NS[n]]);
    sh('ip', ['link', 'add', `lkb${n}0`, 'type', 'veth', 'peer', 'name', `lkb${n}1`]);
    sh('ip', ['link', 'set', `lkb${n}0`, 'netns', NS[n]]);
    sh('ip', ['link', 'set', `lkb${n}1`, 'netns', NS.sw]);
    sh('ip', ['-n', NS[n], 'link', 'set', `lkb${n}0`, 'name', 'eth0']);
    sh('ip', ['-n', NS.sw, 'link', 'set', `lkb${n}1`, 'master', 'br0', 'up']);
    sh('ip', ['-n', NS[n], 'addr', 'add', `${IP[n]}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', NS[n], 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', NS[n], 'link', 'set', 'lo', 'up']);
  }
}

// A virtual server on the VIP with two real servers that never answer: inhibit_on_failure keeps them
// at weight 0, so the takeover installs a service and two destinations (keepalived runs -P: VRRP only).
const VIRTUAL_SERVER = `virtual_server ${VIP} 80 {\n  delay_loop 5\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n  inhibit_on_failure\n${['10.88.0.31', '10.88.0.32']
  .map((rs) => `  real_server ${rs} 80 {\n    weight 1\n    TCP_CHECK {\n      connect_timeout 1\n    }\n  }\n`)
  .join('')}}\n`;

function conf(dir, name, prio) {
  const p = join(dir, `${name}.conf`);
  writeFileSync(
    p,
    `global_defs {\n  router_id ${name}\n}\nvrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 88\n  priority ${prio}\n  advert_int 1\n  authentication {\n    auth_type PASS\n    auth_pass b3nch\n  }\n  virtual_ipaddress {\n    ${VIP}/24\n  }\n}\n${VIRTUAL_SERVER}`,
  );
  return p;
}

class Proc {
  constructor(name, argv) {
    this.name = name;
    this.out = '';
    this.proc = spawn('ip', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => (this.out += d));
    this.proc.stderr.on('data', (d) => (this.out += d));
    this.exited = new Promise((r) => this.proc.once('exit', r));
  }
  async waitFor(re, timeoutMs) {
    const t0 = Date.now();
    while (!re.test(this.out)) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`${this.name}: no /${re.source}/ in ${timeoutMs} ms:\n${this.out.slice(-800)}`);
      await sleep(20);
    }
  }
  async stop(sig = 'SIGTERM') {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(sig);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 6000);
    await this.exited;
    clearTimeout(t);
  }
}

function daemon(impl, node, confPath, dir, tag) {
  const pid = join(dir, `${impl}-${node}-${tag}.pid`);
  const vpid = join(dir, `${impl}-${node}-${tag}_vrrp.pid`);
  const argv =
    impl === 'keepalived'
      ? ['netns', 'exec', NS[node], KEEPALIVED, '-n', '-l', '-P', '-f', confPath, '-p', pid, '-r', vpid]
      : ['netns', 'exec', NS[node], process.execPath, LVSKEEPER, '-n', '-l', '-f', confPath, '-p', pid, '-r', vpid, '-c', join(dir, `${impl}-${node}-${tag}_c.pid`), '--metrics-listen', `${IP[node]}:9650`];
  const p = new Proc(`${impl}:${node}`, argv);
  p.pidFile = pid;
  return p;
}

async function startCapture(file) {
  const p = new Proc('tshark', ['netns', 'exec', NS.b, 'tshark', '-q', '-i', 'eth0', '-w', file, '-f', 'vrrp or arp']);
  await p.waitFor(/Capturing on/, 120_000); // slow to start in the emulated VM
  await sleep(300);
  return p;
}

function startMonitor() {
  return new Proc('monitor', ['-n', NS.b, '-t', 'monitor', 'address']);
}

/** VIP additions seen by `ip -t monitor address`: epoch ms. */
function vipAdds(text) {
  const out = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^Timestamp: (.*) (\d+) usec$/.exec(lines[i]);
    if (!m) continue;
    const next = lines[i + 1] ?? '';
    if (next.startsWith('Deleted') || !next.includes(`inet ${VIP}/`)) continue;
    out.push(new Date(m[1]).getTime() + Number(m[2]) / 1000);
  }
  return out;
}

function readCapture(file) {
  const rows = sh('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'vrrp.prio', '-e', 'arp.src.proto_ipv4', '-e', 'arp.dst.proto_ipv4', '-e', 'eth.src']);
  return rows
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [t, src, prio, arpSrc, arpDst, mac] = l.split('|');
      return { t: Number(t) * 1000, src, prio: prio === '' ? undefined : Number(prio), garp: arpSrc === VIP && arpDst === VIP, mac };
    });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function runImpl(impl, dir) {
  topoUp();
  const pcap = join(dir, `${impl}.pcap`);
  chmodSync(dir, 0o777);
  const cap = await startCapture(pcap);
  const mon = startMonitor();
  const confA = conf(dir, `${impl}-a`, 150);
  const confB = conf(dir, `${impl}-b`, 90);
  const cuts = [];
  const stops = [];
  let a = daemon(impl, 'a', confA, dir, 0);
  await a.waitFor(/Entering BACKUP STATE/, 60_000);
  const b = daemon(impl, 'b', confB, dir, 0);
  await a.waitFor(/Entering MASTER STATE/, 60_000);
  await b.waitFor(/Entering BACKUP STATE/, 60_000); // B starts slowly in the emulated VM
  await sleep(1500);
  // (d) steady MASTER: a quiet window, then one scraped every second.
  const quiet = { from: Date.now() };
  await sleep(SCRAPE_S * 1000);
  quiet.to = Date.now();
  const scraped = { from: Date.now(), scrapes: 0 };
  while (Date.now() - scraped.from < SCRAPE_S * 1000) {
    const t = Date.now();
    scrapeOnce(impl, a);
    scraped.scrapes++;
    await sleep(Math.max(0, 1000 - (Date.now() - t)));
  }
  scraped.to = Date.now();
  // (a) link loss: cut A's bridge port (A loses carrier), wait for B, restore, wait for A to preempt.
  for (let i = 0; i < N; i++) {
    await sleep(300 + Math.random() * 700); // random phase against A's advert timer
    const before = b.out.length;
    cuts.push(Date.now());
    sh('ip', ['-n', NS.sw, 'link', 'set', 'lkba1', 'down']);
    const t0 = Date.now();
    while (!/Entering MASTER STATE/.test(b.out.slice(before))) {
      if (Date.now() - t0 > 30_000) throw new Error(`${impl}: B did not take over`);
      await sleep(20);
    }
    await sleep(300);
    const beforeA = a.out.length;
    sh('ip', ['-n', NS.sw, 'link', 'set', 'lkba1', 'up']);
    const t1 = Date.now();
    while (!/Entering MASTER STATE/.test(a.out.slice(beforeA))) {
      if (Date.now() - t1 > 12_000) throw new Error(`${impl}: A did not preempt after link up`);
      await sleep(20);
    }
    await sleep(1200);
    process.stderr.write(`${impl}: link loss ${i + 1}/${N}\n`);
  }
  // (b) graceful stop of A, then restart it and let it preempt.
  for (let i = 0; i < N; i++) {
    await sleep(300 + Math.random() * 700);
    const before = b.out.length;
    stops.push(Date.now());
    await a.stop();
    const t0 = Date.now();
    while (!/Entering MASTER STATE/.test(b.out.slice(before))) {
      if (Date.now() - t0 > 5000) throw new Error(`${impl}: B did not take over after stop`);
      await sleep(20);
    }
    a = daemon(impl, 'a', confA, dir, i + 1);
    await a.waitFor(/Entering MASTER STATE/, 60_000);
    await sleep(1200);
    process.stderr.write(`${impl}: graceful stop ${i + 1}/${N}\n`);
  }
  await a.stop();
  await b.stop();
  await sleep(500);
  await cap.stop('SIGINT');
  await mon.stop();
  const rows = readCapture(pcap);
  const adds = vipAdds(mon.out);
  const bMac = rows.find((r) => r.src === IP.b)?.mac;
  const advA = rows.filter((r) => r.src === IP.a && r.prio !== undefined);
  const advB = rows.filter((r) => r.src === IP.b && r.prio !== undefined && r.prio > 0);
  const result = { impl, linkLoss: [], stop: [], vip: [], garp: [], ipvs: [], ipvsMissing: 0, quietJitter: jitter(advA, quiet), scrapedJitter: jitter(advA, scraped), scrapes: scraped.scrapes };
  // lvskeeper's B says how long the virtual server took, from its takeover advert (ipvs-takeover.ts).
  for (const m of b.out.matchAll(/\(VI_1\) \d+ virtual servers? ready in IPVS before the VIPs \(([\d.]+) ms\)/g)) result.ipvs.push(Number(m[1]));
  result.ipvsMissing = [...b.out.matchAll(/\(VI_1\) virtual servers not installed before the VIPs/g)].length;
  const takeover = (firstB) => {
    const add = adds.find((t) => t >= firstB.t - 100 && t < firstB.t + 2000);
    const garp = rows.find((r) => r.garp && r.mac === bMac && r.t >= firstB.t - 100 && r.t < firstB.t + 2000);
    if (add !== undefined) result.vip.push(add - firstB.t);
    if (garp) result.garp.push(garp.t - firstB.t);
  };
  for (const cut of cuts) {
    const lastA = advA.filter((r) => r.t < cut + 5 && r.prio > 0).at(-1);
    const firstB = advB.find((r) => r.t > cut);
    if (!lastA || !firstB) continue;
    result.linkLoss.push(firstB.t - lastA.t - IDEAL_DOWN_MS);
    takeover(firstB);
  }
  for (const stop of stops) {
    const zero = advA.find((r) => r.t >= stop - 5 && r.prio === 0);
    const firstB = zero && advB.find((r) => r.t > zero.t);
    if (!zero || !firstB) continue;
    result.stop.push(firstB.t - zero.t - IDEAL_SKEW_MS);
    takeover(firstB);
  }
  topoDown();
  return result;
}

/** One monitoring scrape of A, as each implementation is monitored. */
function scrapeOnce(impl, a) {
  if (impl === 'lvskeeper') {
    const m = sh('ip', ['netns', 'exec', NS.b, 'curl', '-sf', '--max-time', '5', `http://${IP.a}:9650/metrics`], true);
    if (!m.includes('keepalived_vrrp_state')) throw new Error('lvskeeper: /metrics did not answer');
    sh(process.execPath, [LVSKEEPER, 'status', '--json', '-p', a.pidFile]);
  } else {
    const pid = readFileSync(a.pidFile, 'utf8').trim();
    const sig = sh(KEEPALIVED, ['--signum=JSON']).trim();
    sh('kill', ['-s', sig, pid]);
    sh('sh', ['-c', 'sleep 0.05; cat /tmp/keepalived.json >/dev/null 2>&1 || true'], true);
  }
}

/** |interval − 1000 ms| between A's consecutive adverts inside the window: p99 and max. */
function jitter(advA, w) {
  const ts = advA.filter((r) => r.prio > 0 && r.t >= w.from && r.t <= w.to).map((r) => r.t);
  const d = ts.slice(1).map((t, i) => Math.abs(t - ts[i] - 1000)).sort((x, y) => x - y);
  if (d.length === 0) return { p99: NaN, max: NaN, n: 0 };
  return { p99: d[Math.min(d.length - 1, Math.ceil(d.length * 0.99) - 1)], max: d.at(-1), n: d.length };
}

function jitterCell(j) {
  return `${fmt(j.p99)} / ${fmt(j.max)} ms (${j.n})`;
}

function ipvsCell(r) {
  if (r.impl === 'keepalived') return 'always installed';
  if (r.ipvs.length > 0) return `${fmt(median(r.ipvs))} ms (${r.ipvs.length})`;
  return r.ipvsMissing > 0 ? 'no ip_vs here' : 'n/a';
}

function fmt(x) {
  return Number.isFinite(x) ? x.toFixed(1) : 'n/a';
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const impls = ['keepalived', 'lvskeeper'].filter((i) => !ONLY || i === ONLY);
  if (impls.includes('lvskeeper') && !existsSync(LVSKEEPER)) throw new Error(`${LVSKEEPER} missing: npm run build`);
  const dir = mkdtempSync(join(tmpdir(), 'lkb-'));
  const results = [];
  try {
    for (const impl of impls) results.push(await runImpl(impl, dir));
  } finally {
    topoDown();
    if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true }); else console.log(dir);
  }
  const lines = [
    '| implementation | (a) link-loss gap − ideal 3648.4 ms | (b) stop gap − skew 648.4 ms | (c) MASTER → virtual servers ready | (c) MASTER → VIP present | (c) MASTER → first GARP | (d) advert jitter p99 / max, quiet | (d) advert jitter p99 / max, scraped every 1 s | takeovers (a/b) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.impl === 'keepalived' ? 'keepalived 2.2.7' : 'lvskeeper'} | ${fmt(median(r.linkLoss))} ms | ${fmt(median(r.stop))} ms | ${ipvsCell(r)} | ${fmt(median(r.vip))} ms | ${fmt(median(r.garp))} ms | ${jitterCell(r.quietJitter)} | ${jitterCell(r.scrapedJitter)} | ${r.linkLoss.length}/${r.stop.length} |`,
    ),
  ];
  const table = lines.join('\n');
  process.stdout.write(`${table}\n`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
  if (WRITE) {
    const path = join(REPO, 'BENCHMARKS.md');
    const old = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
    const section = `## VRRP failover

Command: \`sudo npm run bench:failover -- --n ${N} --scrape-s ${SCRAPE_S} --write\` (bench/failover.mjs). Two nodes on a bridge in network
namespaces, A priority 150 and B priority 90, VRRPv2 with PASS, advert_int 1; medians over ${N} takeovers of each
kind, measured on the wire (tshark in B) and with \`ip -t monitor address\` in B. (a) A loses carrier: gap from A's
last advert to B's first, minus the ideal Master_Down_Interval; (b) A gets SIGTERM: gap from A's priority-0 advert
to B's first advert, minus Skew_Time; (c) from B's first advert as MASTER to the VIP's virtual server in IPVS
(lvskeeper installs it before the VIP; its own log, from its first advert to the kernel's last answer), to the VIP
on its interface and to its first gratuitous ARP; (d) A's advert jitter (|interval − 1 s|, p99 / max, number of
intervals) over ${SCRAPE_S} s left alone, then ${SCRAPE_S} s monitored every second: lvskeeper's /metrics scraped from
B plus \`lvskeeper status --json\`; keepalived's JSON dump signal and /tmp/keepalived.json, as its exporters do. Run on ${new Date().toISOString().slice(0, 10)}, ${process.version}, a shared 2-CPU host.

${table}
`;
    const re = /## VRRP failover\n[\s\S]*?(?=\n## |$)/;
    const next = re.test(old) ? old.replace(re, section.trimEnd() + '\n') : `${old.trimEnd()}\n\n${section}`;
    writeFileSync(path, next);
  }
}

main().catch((e) => {
  topoDown();
  console.error(e.stack ?? String(e));
  process.exit(1);
});
