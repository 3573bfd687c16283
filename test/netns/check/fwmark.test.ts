// Checker fwmark on the wire path: the client namespace has no route to the real servers' network except
// through `ip rule fwmark 7 lookup 100`, so a probe only reaches its server if its socket carries SO_MARK 7
// when it connects. TCP_CHECK, HTTP_GET, UDP_CHECK and DNS_CHECK, IPv4 and IPv6, with and without
// bindto/bind_port; unmarked and wrongly marked probes are the control (network unreachable).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConnectTarget, ProbeResult, ProbeSpec } from '../../../src/check/types.js';
import { inNs, ipn, repoRoot, sh, sleep } from '../net/helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const distDir = join(repoRoot, 'dist-check', 'netns-check');
const CLIENT = 'lkf-c';
const SERVER = 'lkf-s';
const MARK = 7;
const TABLE = '100';
const PORTS = { tcp: 7001, http: 7002, udp: 7003, dns: 7053 };
/** The client's own addresses, on the link to the server. */
const LINK = { inet: '10.78.0.1', inet6: 'fd78::1' };
/** The servers' addresses: on the server's lo, reachable from the client only through table 100. */
const FAR = { inet: '10.79.0.2', inet6: 'fd79::2' };

type Family = keyof typeof FAR;
interface Seen {
  event: string;
  address: string;
  port: number;
}

let server: ChildProcess;
const seen: Seen[] = [];

/** Compiles src/check/probe (and what it imports) for run-probes.mjs; others' unrelated type errors are tolerated. */
function buildProbes(): void {
  rmSync(distDir, { recursive: true, force: true });
  try {
    sh(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', join(here, 'tsconfig.probe.json')]);
  } catch (e) {
    if (!existsSync(join(distDir, 'check', 'probe', 'index.js'))) throw e;
  }
  if (!existsSync(join(repoRoot, 'build/Release/lvskeeper_net.node'))) {
    throw new Error('native addon not built: run npm install (or node-gyp rebuild) first');
  }
}

function down(): void {
  for (const ns of [CLIENT, SERVER]) sh('ip', ['netns', 'del', ns], true);
}

/** client eth0 <-> server eth0; the server also owns FAR on lo. Client: no route to FAR except by mark. */
function topology(): void {
  down();
  sh('ip', ['netns', 'add', CLIENT]);
  sh('ip', ['netns', 'add', SERVER]);
  ipn(CLIENT, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', SERVER);
  for (const [ns, v4, v6] of [
    [CLIENT, LINK.inet, LINK.inet6],
    [SERVER, '10.78.0.2', 'fd78::2'],
  ] as const) {
    inNs(ns, 'sysctl', '-qw', 'net.ipv6.conf.eth0.accept_dad=0');
    // The servers' replies come from FAR, which the client can only route back with the mark.
    inNs(ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.eth0.rp_filter=0');
    ipn(ns, 'addr', 'add', `${v4}/24`, 'dev', 'eth0');
    ipn(ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', 'eth0', 'nodad');
    ipn(ns, 'link', 'set', 'eth0', 'up');
    ipn(ns, 'link', 'set', 'lo', 'up');
  }
  ipn(SERVER, 'addr', 'add', `${FAR.inet}/32`, 'dev', 'lo');
  ipn(SERVER, '-6', 'addr', 'add', `${FAR.inet6}/128`, 'dev', 'lo');
  ipn(CLIENT, 'route', 'add', '10.79.0.0/24', 'via', '10.78.0.2', 'dev', 'eth0', 'table', TABLE);
  ipn(CLIENT, '-6', 'route', 'add', 'fd79::/64', 'via', 'fd78::2', 'dev', 'eth0', 'table', TABLE);
  ipn(CLIENT, 'rule', 'add', 'fwmark', String(MARK), 'lookup', TABLE, 'priority', '100');
  ipn(CLIENT, '-6', 'rule', 'add', 'fwmark', String(MARK), 'lookup', TABLE, 'priority', '100');
}

async function startServers(): Promise<void> {
  server = spawn('ip', ['netns', 'exec', SERVER, process.execPath, join(here, 'servers.mjs'), ...Object.values(PORTS).map(String), FAR.inet, FAR.inet6], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`servers did not start: ${stderr}`)), 15000);
    createInterface({ input: server.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as Seen;
      if (msg.event === 'ready') {
        clearTimeout(timer);
        resolve();
      } else seen.push(msg);
    });
  });
}

/** Runs the probes in the client namespace, in turn, through the compiled src/check/probe. */
function runProbes(specs: ProbeSpec[]): Promise<ProbeResult[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', CLIENT, process.execPath, join(here, 'run-probes.mjs'), distDir, JSON.stringify(specs)],
      { timeout: 30000 },
      (err, stdout, stderr) => (err ? reject(new Error(`run-probes: ${err.message} ${stderr}`)) : resolve(JSON.parse(stdout) as ProbeResult[])),
    );
  });
}

function target(family: Family, port: number, over: Partial<ConnectTarget>): ConnectTarget {
  return { family, address: FAR[family], port, connectTimeoutMs: 1500, ...over };
}

/** One TCP_CHECK, HTTP_GET, UDP_CHECK (reply required) and DNS_CHECK per family, with `over` on every target. */
function checks(over: (family: Family) => Partial<ConnectTarget>): Array<[string, ProbeSpec]> {
  const list: Array<[string, ProbeSpec]> = [];
  for (const family of ['inet', 'inet6'] as const) {
    const o = over(family);
    list.push(
      [`TCP_CHECK ${family}`, { type: 'TCP_CHECK', target: target(family, PORTS.tcp, o) }],
      [`HTTP_GET ${family}`, { type: 'HTTP_GET', target: target(family, PORTS.http, o), urls: [{ path: '/' }], httpProtocol: '1.0' }],
      [
        `UDP_CHECK ${family}`,
        { type: 'UDP_CHECK', target: target(family, PORTS.udp, o), payloadHex: '6c766b', requireReply: true, replyHex: '6c766b', minReplyLength: 0, maxReplyLength: 255 },
      ],
      [`DNS_CHECK ${family}`, { type: 'DNS_CHECK', target: target(family, PORTS.dns, o), queryType: 'SOA', name: '.' }],
    );
  }
  return list;
}

async function verdicts(list: Array<[string, ProbeSpec]>): Promise<Record<string, string>> {
  const results = await runProbes(list.map(([, spec]) => spec));
  return Object.fromEntries(list.map(([name], i) => [name, `${results[i]!.ok ? 'ok' : 'FAIL'}: ${results[i]!.reason}`]));
}

const all = (list: Array<[string, ProbeSpec]>, verdict: string | RegExp) =>
  Object.fromEntries(list.map(([name]) => [name, typeof verdict === 'string' ? verdict : expect.stringMatching(verdict)]));

describe.skipIf(process.getuid?.() !== 0)('checker fwmark on the wire (ip rule fwmark 7 lookup 100)', () => {
  beforeAll(async () => {
    buildProbes();
    topology();
    await startServers();
  });
  afterAll(async () => {
    server?.stdin?.end();
    await sleep(100);
    if (server && server.exitCode === null) server.kill('SIGKILL');
    down();
  });
  beforeEach(() => {
    seen.length = 0;
  });

  it('control: unmarked and wrongly marked probes have no route to the real servers', async () => {
    for (const over of [() => ({}), () => ({ fwmark: MARK + 1 })]) {
      const list = checks(over);
      expect(await verdicts(list)).toEqual(all(list, 'FAIL: network unreachable'));
    }
    expect(seen).toEqual([]);
  });

  it('probes with fwmark 7 are routed by the rule and succeed (TCP_CHECK, HTTP_GET, UDP_CHECK, DNS_CHECK; IPv4, IPv6)', async () => {
    const list = checks(() => ({ fwmark: MARK }));
    expect(await verdicts(list)).toEqual(all(list, /^ok: /));
    await sleep(100);
    const from = new Set(seen.map((s) => `${s.event} ${s.address}`));
    expect(from).toEqual(new Set([`tcp ${LINK.inet}`, `tcp ${LINK.inet6}`, `udp ${LINK.inet}`, `udp ${LINK.inet6}`]));
    expect(seen).toHaveLength(8);
  });

  it('bindto/bind_port still apply to marked sockets', async () => {
    const bindPorts = { TCP_CHECK: 41001, HTTP_GET: 41002, UDP_CHECK: 41003, DNS_CHECK: 41004 };
    const list = checks((family) => ({ fwmark: MARK, bindAddress: LINK[family] }));
    for (const [, spec] of list) {
      if (spec.type === 'TCP_CHECK' || spec.type === 'HTTP_GET' || spec.type === 'UDP_CHECK' || spec.type === 'DNS_CHECK') {
        spec.target.bindPort = bindPorts[spec.type];
      }
    }
    expect(await verdicts(list)).toEqual(all(list, /^ok: /));
    await sleep(100);
    const key = (s: Seen) => `${s.event} [${s.address}]:${s.port}`;
    const expected = (['inet', 'inet6'] as const).flatMap((f) =>
      [`tcp [${LINK[f]}]:41001`, `tcp [${LINK[f]}]:41002`, `udp [${LINK[f]}]:41003`, `udp [${LINK[f]}]:41004`],
    );
    expect(seen.map(key).sort()).toEqual(expected.sort());
  });

  it('a bindto address the client does not own fails as usual, marked or not', async () => {
    const list = checks(() => ({ fwmark: MARK, bindAddress: undefined })).map(([name, spec]): [string, ProbeSpec] => {
      const t = (spec as { target: ConnectTarget }).target;
      t.bindAddress = t.family === 'inet' ? '10.78.0.99' : 'fd78::99';
      return [name, spec];
    });
    expect(await verdicts(list)).toEqual(all(list, 'FAIL: bind address not available'));
  });
});
