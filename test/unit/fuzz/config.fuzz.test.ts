// Fuzz: keepalived.conf texts (keepalived's samples from ../shared/keepalived-samples and config/*.conf,
// read at test time), mutated by lines, tokens, braces, $VAR/~SEQ/~LST/@id/include constructs and random
// bytes, with includes in a virtual file system, into parseConfig and the parent's reload decision
// (checkReload), then the reload plan and the JSON dump of what was accepted. Budget and seeds: budget.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_DIAGNOSTIC_CHARS } from '../../../src/config/parse.js';
import { parseConfig, renderConfigJson, type Diagnostic, type FullParseOptions, type FullParseResult } from '../../../src/config/index.js';
import { checkReload } from '../../../src/daemon/config-load.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { describePlan, planReload } from '../../../src/daemon/reload/plan.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { virtualGlob } from '../config/helpers.js';
import { conf, Node, run, Wire } from '../vrrp/engine-harness.js';
import { params, runs, TIMEOUT_MS, watchUnhandledRejections } from './budget.js';

const unhandled = watchUnhandledRejections();
afterAll(() => {
  unhandled.stop();
  expect(unhandled.seen).toEqual([]);
});

const SAMPLES = new URL('../../../../shared/keepalived-samples', import.meta.url).pathname;
const LAB = new URL('../../../config', import.meta.url).pathname;

function corpus(): { name: string; text: string }[] {
  const out: { name: string; text: string }[] = [];
  for (const dir of [SAMPLES, LAB]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith('.conf') || f.startsWith('keepalived.conf')) out.push({ name: f, text: readFileSync(join(dir, f), 'latin1') });
    }
  }
  return out;
}

const CORPUS = corpus();

// ---- the virtual file system: the main file, two includes (one includes the main file back) ----

const DIR = '/etc/keepalived';
const MAIN = `${DIR}/keepalived.conf`;
const INC_A = `${DIR}/conf.d/a.conf`;
const INC_B = `${DIR}/conf.d/b.conf`;

function virtualOptions(files: Record<string, string>, configId: string): FullParseOptions {
  return {
    hostname: 'lb01',
    configId,
    readFile: (p) => files[p],
    expandGlob: virtualGlob(files),
    checkInterfaces: true,
    interfaceExists: (n) => n === 'eth0' || n === 'eth1' || n === 'ens33',
    scriptChecks: { scriptExists: (c) => c.startsWith('/bin/') || c.startsWith('/etc/keepalived/'), userExists: (u) => u === 'root' || u === 'keepalived_script' },
  };
}

// ---- mutations ----

const TOKENS = [
  '{', '}', '{}', '} {', '"', "'", '\\', '#', '!', '$', '$X', '${X}', '${X', '$UNDEF', '${_RANDOM 1 9}', '${_INSTANCE}', '${_PWD}', '$_HASH',
  '~SEQ(i,1,3)', '~SEQ(i,3)', '~SEQx(i,0,2,8)', '~LST(v,a,b)', '@lb01', '@^lb01', '@', 'include', 'includea', 'includew', '*', '-1', '0', '1',
  '255', '256', '65536', '4294967296', '18446744073709551616', '1e309', '0x10', '1.5', 'NaN', '-', '::', 'fe80::1%eth0', '300.1.1.1',
  '192.168.60.200/33', '10.0.0.1-300', 'inet6', 'BACKUP', 'MASTER', 'TCP', 'UDP', 'DR', 'NAT', 'TUN', 'rr', 'wrr', 'eth0', 'lo', 'dev',
  'no_track', 'x'.repeat(300), 'L'.repeat(5000), '\t', '\u00e9', '\u0000', '\r',
];

const SNIPPET_LINES = [
  '{', '}', '} }', '{ {', '$X=a b c', '$X=$X$X', '$M=line one \\', 'second line', '$EMPTY=', '$X', '${X} {', '@lb01 vrrp_instance Q {',
  '@^lb01 global_defs {', '@other router_id nope', '~SEQ(i,1,4) real_server 10.0.0.$i 80 {', '~LST(n,a,b,c) vrrp_script s_$n {', '~SEQ(i,0) x',
  '~SEQ(i,1,0,5) x', '~SEQ(bad name,1,2) x', `include ${INC_A}`, `include ${DIR}/conf.d/*.conf`, `include ${DIR}/conf.d/{a,b,c}.conf`,
  'include missing/*.conf', 'includem /nowhere.conf', 'include', 'include "quoted path.conf"', 'virtual_server 1.2.3.4 80 {', 'real_server 5.6.7.8 80 {',
  'TCP_CHECK {', 'HTTP_GET {', 'url {', 'vrrp_instance X {', 'vrrp_sync_group G {', 'group {', 'virtual_ipaddress {', 'authentication {',
  'track_script {', 'unicast_peer {', 'global_defs {', 'static_ipaddress {', 'virtual_server_group G {', 'fwmark 1', 'virtual_server fwmark 1 {',
  'virtual_server group G {', 'priority 300', 'virtual_router_id 0', 'advert_int 0.001', 'state WRONG', 'interface', 'lb_kind XX',
  'weight -5', 'quorum 0', 'sorry_server 1.2.3.4', 'notify_master "/bin/true arg"', 'script "/bin/false"', 'enable_script_security',
  'vrrp_version 3', 'native_ipv6', '!comment {', '# } comment', '"unterminated', 'keyword "a b" c \'d e\'',
];

type Mutation =
  | { kind: 'delete' | 'duplicate'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'insertLine'; at: number; text: string }
  | { kind: 'token'; at: number; word: number; op: 'delete' | 'duplicate' | 'replace' | 'insert' | 'value'; token: string }
  | { kind: 'swapTokens'; at: number; word: number; with: number }
  | { kind: 'bytes'; at: number; bytes: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'wrap'; at: number; count: number; prefix: string };

const randomText = fc.string({ maxLength: 24, unit: 'binary' });
const token = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TOKENS) }, { weight: 1, arbitrary: randomText });
const line = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...SNIPPET_LINES) }, { weight: 1, arbitrary: randomText });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('insertLine' as const), at: fc.nat(), text: line }),
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('token' as const), at: fc.nat(), word: fc.nat(), op: fc.constantFrom('delete' as const, 'duplicate' as const, 'replace' as const, 'insert' as const), token }),
  },
  fc.record({ kind: fc.constant('swapTokens' as const), at: fc.nat(), word: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('wrap' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 12 }), prefix: fc.constantFrom('~SEQ(i,1,2) ', '~LST(k,x,y) ', '@lb01 ', '@^lb01 ', '@other ', '$X ') }),
);

function mutate(text: string, muts: readonly Mutation[]): string {
  let lines = text.split('\n');
  for (const m of muts) {
    const n = Math.max(1, lines.length);
    const i = m.at % n;
    switch (m.kind) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 'swap': {
        const j = m.with % n;
        const a = lines[i] ?? '';
        lines[i] = lines[j] ?? '';
        lines[j] = a;
        break;
      }
      case 'insertLine':
        lines.splice(i, 0, m.text);
        break;
      case 'token':
      case 'swapTokens': {
        const words = (lines[i] ?? '').split(/(\s+)/).filter((w) => w.length > 0 && !/^\s+$/.test(w));
        const lead = /^\s*/.exec(lines[i] ?? '')![0];
        const w = words.length === 0 ? 0 : m.word % words.length;
        if (m.kind === 'swapTokens') {
          const v = words.length === 0 ? 0 : m.with % words.length;
          [words[w], words[v]] = [words[v] ?? '', words[w] ?? ''];
        } else if (m.op === 'delete') words.splice(w, 1);
        else if (m.op === 'duplicate') words.splice(w, 0, words[w] ?? m.token);
        else if (m.op === 'replace') words[w] = m.token;
        else if (m.op === 'value') words[Math.max(1, words.length - 1)] = m.token;
        else words.splice(w, 0, m.token);
        lines[i] = lead + words.join(' ');
        break;
      }
      case 'bytes': {
        const l = lines[i] ?? '';
        const pos = l.length === 0 ? 0 : m.at % (l.length + 1);
        lines[i] = l.slice(0, pos) + String.fromCharCode(...m.bytes) + l.slice(pos);
        break;
      }
      case 'truncate':
        lines = lines.join('\n').slice(0, m.at % (lines.join('\n').length + 1)).split('\n');
        break;
      case 'wrap':
        // A construct in front of a run of lines (e.g. a block repeated by ~SEQ, or kept for one host only).
        for (let k = i; k < Math.min(lines.length, i + m.count); k++) lines[k] = m.prefix + (lines[k] ?? '');
        break;
    }
  }
  return lines.join('\n');
}

interface Case {
  files: Record<string, string>;
  /** The same files before the mutations: the running configuration at SIGHUP. */
  runningFiles: Record<string, string>;
}

// The recipe, not the texts, is what fast-check prints and shrinks: a failure reads as corpus names
// and mutations.
const recipe = fc.record({
  main: fc.constantFrom(...CORPUS.map((c) => c.name)),
  mainMuts: fc.array(mutation, { minLength: 1, maxLength: 8 }),
  inc: fc.constantFrom(...CORPUS.map((c) => c.name)),
  incMuts: fc.array(mutation, { maxLength: 4 }),
  includeLine: fc.constantFrom('', `include ${DIR}/conf.d/*.conf`, `include conf.d/a.conf`, `include ${INC_B}`, `includea ${DIR}/conf.d/{a,b}.conf`),
  definitions: fc.array(fc.constantFrom('$X=10.0.0.1', '$X=vrrp_instance', '$X=$X $X', '$Y=${X}${X}', '$M=a \\', '$IFACE=eth0', '@lb01 $X=lb01only', '$_HASH=x'), { maxLength: 3 }),
  bLine: fc.constantFrom(`include ${MAIN}`, `include ${INC_B}`, 'global_defs {\n router_id B\n}', '}', ''),
  configId: fc.constantFrom('lb01', 'lb02', '', 'lb01 lb02'),
});

type Recipe = typeof recipe extends fc.Arbitrary<infer T> ? T : never;

function build(r: Recipe): Case {
  const head = [...r.definitions, r.includeLine];
  const main = CORPUS.find((c) => c.name === r.main)!.text;
  const inc = CORPUS.find((c) => c.name === r.inc)!.text;
  return {
    files: { [MAIN]: [...head, mutate(main, r.mainMuts)].join('\n'), [INC_A]: mutate(inc, r.incMuts), [INC_B]: r.bLine },
    runningFiles: { [MAIN]: [...head, main].join('\n'), [INC_A]: inc, [INC_B]: r.bLine },
  };
}

// ---- what every result must satisfy (plain checks: expect() per diagnostic would cost most of the budget) ----

const lineCount = (text: string): number => text.split('\n').length;
/** A diagnostic quotes at most a line's worth of the input (MAXBUF), so a long word cannot multiply the log. */
const MAX_MESSAGE = MAX_DIAGNOSTIC_CHARS;

function check(ok: boolean, what: string, detail: unknown): void {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(detail)?.slice(0, 600)}`);
}

function checkDiagnostics(files: Record<string, string>, diagnostics: readonly Diagnostic[]): void {
  const physical = Object.values(files).reduce((n, t) => n + lineCount(t), 0);
  for (const d of diagnostics) {
    check(d.severity === 'error' || d.severity === 'warning' || d.severity === 'unsupported' || d.severity === 'info', 'severity', d);
    // A file the parser was given (never a pattern, never empty), and a line inside it.
    const text = files[d.file];
    check(text !== undefined, 'diagnostic names a file that was read', d);
    check(Number.isInteger(d.line) && d.line >= 1 && d.line <= lineCount(text ?? '') + 1, 'diagnostic line inside its file', d);
    check(d.message.length > 0 && d.message.length <= MAX_MESSAGE && !d.message.includes('\n'), 'one bounded message line', d);
    check(!d.message.includes('internal parser error'), 'parser threw', d);
  }
  // Bounded output: expansion is bounded per line and in total (READER_LIMITS); here inputs are small.
  check(diagnostics.length <= 100 + 10 * physical, 'diagnostics bounded by the input', { count: diagnostics.length, physical });
}

let reloadsAccepted = 0;

function checkReloadVerdict(file: string, files: Record<string, string>, running: FullParseResult, configId: string): void {
  const log = createMemoryLogger();
  const r = checkReload(file, configId, running.diagnostics, log, (p, o) => parseConfig(p, { ...virtualOptions(files, configId), ...o }));
  if (!r.ok) {
    check(/^\/etc\/keepalived\/[^:]+:[1-9]\d*: /.test(r.problem), 'refusal names file:line', r.problem);
    check(!r.problem.includes('internal parser error') && !r.problem.includes('\n'), 'refusal is one line, no parser throw', r.problem);
    check(r.problem.length <= MAX_MESSAGE + 100, 'refusal bounded', r.problem.length);
    return;
  }
  reloadsAccepted++;
  checkDiagnostics(files, r.next.diagnostics);
  // What the children then apply (the reload plan) and the dump of the new model.
  describePlan(planReload(running.config, r.next.config));
  renderConfigJson(r.next.config);
}

describe.skipIf(CORPUS.length === 0)('fuzz: keepalived.conf into the parser and the reload decision', () => {
  it('mutated corpus files with includes: no throw, every diagnostic at file:line, bounded output, reload verdict well formed', () => {
    fc.assert(
      fc.property(recipe, (rec) => {
        const { files, runningFiles } = build(rec);
        const configId = rec.configId;
        const r = parseConfig(MAIN, virtualOptions(files, configId));
        checkDiagnostics(files, r.diagnostics);
        renderConfigJson(r.config);
        // SIGHUP: the running configuration is the files before the mutations.
        checkReloadVerdict(MAIN, files, parseConfig(MAIN, virtualOptions(runningFiles, configId)), configId);
      }),
      params(6000, 11),
    );
    // The generator also makes changes a reload accepts (so the plan is fuzzed too).
    expect(reloadsAccepted).toBeGreaterThanOrEqual(Math.floor(runs(6000) / 200));
  }, TIMEOUT_MS);

  it('random bytes and random token soup: the same guarantees', () => {
    const soup = fc.array(fc.oneof(token, fc.constantFrom('\n', '\n', '\n', ' ', '{', '}')), { maxLength: 120 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(fc.oneof(soup, fc.string({ maxLength: 400, unit: 'binary' }), fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1'))), fc.constantFrom('lb01', ''), (text, configId) => {
        const files = { [MAIN]: text, [INC_A]: '', [INC_B]: '' };
        const r = parseConfig(MAIN, virtualOptions(files, configId));
        checkDiagnostics(files, r.diagnostics);
        checkReloadVerdict(MAIN, files, parseConfig(MAIN, virtualOptions({ [MAIN]: '' }, configId)), configId);
      }),
      params(3000, 12),
    );
  }, TIMEOUT_MS);

  // Changes an operator makes: values, lines moved, instances renamed, VIPs moved between instances.
  const RELOAD_TOKENS = ['1', '50', '100', '150', '200', '254', '255', '51', '52', '53', 'VI_1', 'VI_2', 'VI_3', 'MASTER', 'BACKUP', 'eth0', 'eth1', '0.5', '2', '3',
    '192.168.60.200/24', '192.168.60.210/24', '192.168.60.220/24', '192.168.60.220', 'fd00::1/64', 'no_track', 'dev', 'secret', 'other'];
  const RELOAD_LINES = ['nopreempt', 'preempt_delay 2', 'advert_int 2', 'version 3', 'priority 200', 'priority 50', 'state MASTER', 'dont_track_primary',
    'virtual_router_id 53', 'track_interface {', 'eth1 weight -60', '}', 'virtual_ipaddress_excluded {', '192.168.60.230/24', 'unicast_peer {',
    '192.168.60.112', 'garp_master_delay 1', 'lower_prio_no_advert', 'vrrp_instance VI_3 {', 'interface eth0', 'virtual_router_id 54',
    'virtual_ipaddress {', '192.168.60.240/24', 'VI_3', 'notify_master /bin/true', 'smtp_alert'];
  const reloadMutation: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('insertLine' as const), at: fc.nat(), text: fc.constantFrom(...RELOAD_LINES) }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('token' as const), at: fc.nat(), word: fc.nat(), op: fc.constant('value' as const), token: fc.constantFrom(...RELOAD_TOKENS) }) },
    { weight: 1, arbitrary: mutation },
  );

  it('accepted reloads into the running VRRP engine: applied or refused, never thrown; VIPs follow the MASTER instances; reloading back restores the pair', async () => {
    const base = `vrrp_sync_group G1 {\n  group {\n    VI_1\n    VI_2\n  }\n}\n${conf(150)}${conf(150).replace('VI_1', 'VI_2').replace('virtual_router_id 51', 'virtual_router_id 52').replace('192.168.60.200', '192.168.60.210')}`;
    const baseB = base.replace(/priority 150/g, 'priority 100');
    const baseOptions = virtualOptions({ [MAIN]: base }, 'lb');
    const running = parseConfig(MAIN, baseOptions);
    expect(running.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    let applied = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(reloadMutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        const files = { [MAIN]: mutate(base, muts) };
        const checked = checkReload(MAIN, 'lb', running.diagnostics, createMemoryLogger(), (p, o) => parseConfig(p, { ...virtualOptions(files, 'lb'), ...o }));
        if (!checked.ok) return;
        const t = new FakeTimers();
        const wire = new Wire(t);
        const a = new Node(wire, '192.168.60.111');
        const b = new Node(wire, '192.168.60.112');
        await a.start(base);
        await b.start(baseB);
        await run(t, 5000);
        const reload = { outcome: 'pending' as 'applied' | 'refused' | 'pending', error: undefined as unknown };
        a.engine.reload(checked.next.config).then(
          () => void (reload.outcome = 'applied'),
          (e: unknown) => void Object.assign(reload, { outcome: 'refused', error: e }),
        );
        await run(t, 10_000);
        expect(reload.outcome).not.toBe('pending');
        if (reload.outcome === 'refused') expect(reload.error).toBeInstanceOf(Error);
        else applied++;
        for (const n of [a, b]) {
          // Steady state: a node holds exactly the VIPs of its MASTER instances.
          const masters = [...n.engine.instances.values()].filter((i) => i.state === 'MASTER');
          const owned = new Set(masters.flatMap((i) => i.spec.vips.map((v) => v.address)));
          expect([...n.vips.keys()].sort()).toEqual([...owned].sort());
        }
        await a.reload(base);
        await run(t, 10_000);
        expect([a.state('VI_1'), a.state('VI_2'), b.state('VI_1'), b.state('VI_2')]).toEqual(['MASTER', 'MASTER', 'BACKUP', 'BACKUP']);
        expect([...a.vips.keys()].sort()).toEqual(['192.168.60.200', '192.168.60.210']);
        expect(b.vips.size).toBe(0);
      }),
      params(2000, 13),
    );
    // The mutations also make reloads the engine applies (about 1 in 10).
    expect(applied).toBeGreaterThanOrEqual(Math.floor(runs(2000) / 40));
  }, TIMEOUT_MS);
});
