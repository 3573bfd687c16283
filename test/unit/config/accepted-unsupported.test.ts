// Keywords keepalived 2.2.7 accepts that lvskeeper parses but does not act on: each is consumed
// with its arguments and reported as one located warning (`-t` exits 0), and keepalived 2.2.7 run
// live on the same snippet accepts it too (skipped when keepalived is absent).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/args.js';
import { keywordCatalogue } from '../../../src/config/keywords.js';
import { instance, parseText } from './helpers.js';

const KEEPALIVED = ['/usr/sbin/keepalived', '/usr/local/sbin/keepalived'].find((p) => existsSync(p));
const VI = instance('  priority 100');
const vs = (lines: string): string =>
  `virtual_server 10.0.0.1 80 {\n  lb_algo sh\n  lb_kind NAT\n  protocol TCP\n${lines}\n  real_server 192.168.0.2 80 {\n  }\n}\n`;

interface Case {
  keyword: string;
  text: string;
  /** The line the warning names (1-based). */
  line: number;
  /** Part of the message saying what happens instead. */
  says: RegExp;
  /** `info` for a keyword that does what keepalived's does (nothing); default `unsupported`. */
  severity?: 'info';
  /** Errors unrelated to the keyword that keepalived reports too. */
  otherErrors?: string[];
  /** keepalived's verdict on this host is not 0 for a reason unrelated to the keyword. */
  keepalivedNonZero?: string;
}

const CASES: Case[] = [
  { keyword: 'default_interface', text: `global_defs {\n  default_interface eth0\n}\n${VI}`, line: 2, says: /ignored/ },
  { keyword: 'min_auto_priority_delay', text: `global_defs {\n  min_auto_priority_delay 500000\n}\n${VI}`, line: 2, says: /ignored/ },
  { keyword: 'lvs_process_name', text: `global_defs {\n  lvs_process_name lvs_x\n}\n${VI}`, line: 2, says: /default name/ },
  { keyword: 'interface_up_down_delays', text: `interface_up_down_delays {\n  eth0 2 3\n}\n${VI}`, line: 1, says: /without delay/ },
  { keyword: 'mcast_dst_ip', text: instance('  mcast_dst_ip 224.0.0.19'), line: 7, says: /vrrp_mcast_group4/ },
  {
    keyword: 'vrf',
    text: 'vrrp_instance VI_1 {\n  vrf ifb0\n  virtual_router_id 51\n  virtual_ipaddress {\n    10.0.0.1 dev eth0\n  }\n}\n',
    line: 2,
    says: /not bound to VRF ifb0/,
    // keepalived wants a real VRF device (none here) and no `interface`; the keyword itself is known.
    // Both tools then exit 5 for the missing interface ("(VI_1) Unknown interface!").
    keepalivedNonZero: 'Unknown interface!',
    otherErrors: ['(VI_1) Unknown interface!'],
  },


  { keyword: 'hashed', text: vs('  hashed'), line: 5, says: /no IPVS flag/, severity: 'info' },
  { keyword: 'snmp_name', text: vs('  snmp_name web'), line: 5, says: /no SNMP agent/ },
];

describe('keepalived keywords accepted with a warning', () => {
  it.each(CASES)('$keyword', ({ keyword, text, line, says, severity, otherErrors }) => {
    const r = parseText(text);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual(otherErrors ?? []);
    const mine = r.diagnostics.filter((d) => d.keyword === keyword);
    expect(mine).toHaveLength(1);
    // 'unsupported' (printed "WARNING:"): `-t` still exits 0 as keepalived's; 'warning' would fail it like report_config_error.
    expect(mine[0]).toMatchObject({ severity: severity ?? 'unsupported', file: '/etc/keepalived/keepalived.conf', line });
    expect(mine[0]!.message).toContain(keyword);
    expect(mine[0]!.message).toMatch(says);
  });

  it('hashed without lb_algo sh/mh is refused, as keepalived 2.2.7 does', () => {
    const r = parseText(vs('  hashed').replace('lb_algo sh', 'lb_algo rr'));
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', line: 5, message: 'hashed only applies to sh scheduler - ignoring' }));
  });

  it('vrf with interface is refused, as keepalived 2.2.7 does', () => {
    expect(parseText(instance('  vrf ifb0')).diagnostics).toContainEqual(
      expect.objectContaining({ line: 7, message: '(VI_1) Cannot specify VRF interface and interface - ignoring' }),
    );
  });

  it('bad arguments are still errors', () => {
    const bad = (t: string): string[] => parseText(t).diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
    expect(bad(`global_defs {\n  min_auto_priority_delay 0\n}\n${VI}`)).toEqual(["min_auto_priority_delay '0' must be in [1, 10000000] - ignoring"]);
    expect(bad(vs('  snmp_name a b'))).toEqual(['virtual server snmp_name missing or extra parameters']);
    expect(bad(instance('  mcast_dst_ip nonsense'))).toEqual(['(VI_1) malformed mcast dest address nonsense. Skipping...']);
  });
});

describe.skipIf(KEEPALIVED === undefined)('the same snippets with keepalived 2.2.7 -t and lvskeeper -t', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsk-accepted-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(CASES)('$keyword', async ({ keyword, text, keepalivedNonZero, severity }) => {
    const file = join(dir, `${keyword}.conf`);
    writeFileSync(file, text);
    const ref = spawnSync(KEEPALIVED!, ['-t', '-l', '-D', '-f', file], { encoding: 'utf8' });
    const refOut = `${ref.stdout}${ref.stderr}`;
    expect(refOut).not.toContain(`Unknown keyword '${keyword}'`);
    expect(refOut).not.toContain(`Unknown configuration entry '${keyword}'`);
    if (keepalivedNonZero === undefined) expect({ status: ref.status, refOut }).toEqual({ status: 0, refOut: expect.any(String) as unknown });
    else expect(refOut).toContain(keepalivedNonZero);

    let stderr = '';
    const code = await runCli(['-t', '-f', file], { stdout: () => undefined, stderr: (t) => (stderr += t) });
    expect(stderr).toMatch(new RegExp(`^${file}:\\d+: ${severity === 'info' ? 'note' : 'WARNING'}: .*${keyword}`, 'm'));
    expect(code).toBe(keepalivedNonZero === undefined ? 0 : ref.status);
  });
});

describe.skipIf(KEEPALIVED === undefined)('every keyword lvskeeper warns about is one keepalived 2.2.7 knows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsk-warned-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const warned = (context: string): string[] =>
    keywordCatalogue()
      .filter((e) => e.context === context && e.status === 'warns')
      .map((e) => e.keyword);

  it.each([
    ['global_defs', (k: string) => `global_defs {\n  ${k} 1\n}\n${VI}`],
    ['vrrp_instance', (k: string) => instance(`  ${k} 1`)],
    ['vrrp_sync_group', (k: string) => `${VI}vrrp_sync_group G {\n  group {\n    VI_1\n  }\n  ${k} 1\n}\n`],
  ] as const)('%s', (context, snippet) => {
    const keywords = warned(context);
    expect(keywords.length).toBeGreaterThan(0);
    const unknown = keywords.filter((k) => {
      const file = join(dir, `${context}-${k}.conf`);
      writeFileSync(file, snippet(k));
      const ref = spawnSync(KEEPALIVED!, ['-t', '-l', '-D', '-f', file], { encoding: 'utf8' });
      return `${ref.stdout}${ref.stderr}`.includes(`Unknown keyword '${k}'`);
    });
    expect(unknown).toEqual([]);
  });
});
