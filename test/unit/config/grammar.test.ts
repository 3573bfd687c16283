import { describe, expect, it } from 'vitest';
import { instance, messages, parseText, parseVirtual } from './helpers.js';

const vi = (r: ReturnType<typeof parseText>) => r.config.vrrpInstances[0]!;

describe('comments (keepalived decomment)', () => {
  it('drops # and ! comments anywhere, even mid-word', () => {
    const r = parseText(instance('  authentication {\n    auth_type PASS\n    auth_pass ab!cd\n  }  # trailing\n! whole line'));
    expect(messages(r)).toEqual([]);
    expect(vi(r).authentication?.password).toBe('ab');
  });
  it('keeps # inside double quotes, and ${_HASH} / ${_BANG} give literal characters', () => {
    const r = parseText(
      'vrrp_script s {\n  script "/bin/echo a#b"\n}\n' + instance('  notify_master "/x ${_HASH}1"\n  notify_backup /y${_BANG}'),
    );
    expect(r.config.vrrpScripts[0]!.script).toBe('/bin/echo a#b');
    expect(vi(r).notify.master?.command).toBe('/x #1');
    expect(vi(r).notify.backup?.command).toBe('/y!');
  });
  it('\\# outside quotes is a literal #', () => {
    const r = parseText('global_defs {\n  router_id a\\#b\n}\n');
    expect(r.config.global.routerId).toBe('a#b');
  });
});

describe('structure', () => {
  it('accepts { on the next line and text after { as the first statement', () => {
    const r = parseText('vrrp_instance VI_1\n{ interface eth0\n  virtual_router_id 7\n  virtual_ipaddress\n  {\n 10.0.0.2\n  }\n}\n');
    expect(messages(r)).toEqual([]);
    expect(vi(r).interface).toBe('eth0');
    expect(vi(r).virtualRouterId).toBe(7);
    expect(vi(r).virtualIpAddresses.map((v) => v.address)).toEqual(['10.0.0.2']);
  });
  it('treats each line of an address block as one entry', () => {
    const r = parseText(instance('  virtual_ipaddress_excluded { 10.0.0.8 10.0.0.9 }'));
    expect(vi(r).virtualIpAddressesExcluded.map((v) => v.address)).toEqual(['10.0.0.8']);
    expect(messages(r)).toContain("Unknown configuration entry '10.0.0.9' for ip address - ignoring");
  });
  it('keywords are case-sensitive: unknown ones warn with file:line and are skipped', () => {
    const r = parseText(instance('  Priority 10'));
    const d = r.diagnostics.find((x) => x.message === "Unknown keyword 'Priority'");
    expect(d).toMatchObject({ file: '/etc/keepalived/keepalived.conf', line: 7, keyword: 'Priority' });
    expect(vi(r).priority).toBe(100);
  });
  it("unknown keyword with a block: \"Unexpected '{'\" and the inner lines are read at the enclosing level", () => {
    const r = parseText('global_defs {\n  foo {\n    router_id inner\n  }\n  vrrp_version 3\n}\n');
    expect(messages(r)).toEqual([
      "Unknown keyword 'foo'",
      "Unexpected '{' - ignoring",
      "Unknown keyword 'vrrp_version'",
      "Unknown keyword '}'",
    ]);
    expect(r.config.global.routerId).toBe('inner');
    expect(r.config.global.vrrpVersion).toBe(2);
  });
  it('reports unbalanced braces', () => {
    expect(messages(parseText('global_defs {\n  router_id x\n'))).toContain("There are 1 missing '}'s or extra '{'s");
    const extra = parseText('global_defs {\n}\n}\n');
    expect(messages(extra)).toEqual(["Extra '}' found", "Unknown keyword '}'"]);
    expect(extra.diagnostics[0]!.line).toBe(3);
  });
  it('reports a missing { at the start of a block', () => {
    expect(messages(parseText('global_defs\nrouter_id x\n'))).toContain("Missing '{' at beginning of configuration block");
  });
});

describe('include', () => {
  it('reads globs and braces relative to the including file, in order', () => {
    const r = parseVirtual({
      '/etc/keepalived/keepalived.conf': 'include conf.d/*.conf\ninclude other/{a,b}.inc\n',
      '/etc/keepalived/conf.d/10-global.conf': 'global_defs {\n  router_id FROM_INCLUDE\n}\n',
      '/etc/keepalived/conf.d/20-vi.conf': instance(''),
      '/etc/keepalived/other/a.inc': 'include ../nested/x.conf\n',
      '/etc/keepalived/nested/x.conf': 'vrrp_script s {\n  script /bin/true\n}\n',
      '/etc/keepalived/other/b.inc': 'bogus_kw\n',
    });
    expect(r.config.global.routerId).toBe('FROM_INCLUDE');
    expect(r.config.vrrpInstances).toHaveLength(1);
    expect(r.config.vrrpScripts[0]!.name).toBe('s');
    expect(r.diagnostics).toEqual([
      { severity: 'error', file: '/etc/keepalived/other/b.inc', line: 1, message: "Unknown keyword 'bogus_kw'", keyword: 'bogus_kw' },
    ]);
  });
  it('detects include cycles instead of looping', () => {
    const r = parseVirtual({
      '/etc/keepalived/keepalived.conf': 'include a.conf\n',
      '/etc/keepalived/a.conf': 'include keepalived.conf\n',
    });
    expect(messages(r).some((m) => m.includes('would recurse'))).toBe(true);
  });
  it('includem reports a pattern matching nothing; plain include does not (2.2.7)', () => {
    expect(messages(parseText('include nothing/*.conf\n'))).toEqual([]);
    expect(messages(parseText('includem nothing/*.conf\n'))[0]).toMatch(/No config files matched/);
  });
});

describe('conditionals @ID / @^ID', () => {
  const text = '@high global_defs {\n@low global_defs {\n@^high  router_id NOT_HIGH\n@high  router_id HIGH\n}\n';
  it('keeps lines for the config id and drops the others', () => {
    expect(parseText(text, { configId: 'high' }).config.global.routerId).toBe('HIGH');
    expect(parseText(text, { configId: 'low' }).config.global.routerId).toBe('NOT_HIGH');
  });
  it('defaults the config id to the short host name', () => {
    expect(parseText('@testhost global_defs {\n  router_id T\n}\n').config.global.routerId).toBe('T');
  });
});

describe('definitions $NAME', () => {
  it('expands $NAME and ${NAME} recursively at use time; undefined names stay', () => {
    const r = parseText('$IF=eth1\n$PRE=${IF}\nglobal_defs {\n  router_id ${PRE}-$UNDEF $PRE-x\n}\n$IF=eth2\n' + instance('  track_interface {\n    ${PRE}\n  }'));
    expect(r.config.global.routerId).toBe('eth1-$UNDEF');
    // `$PRE-x` is not a reference: keepalived needs a blank, ',', ')' or the end after the name.
    expect(r.diagnostics).toEqual([]);
    expect(vi(r).trackInterfaces[0]!.name).toBe('eth2');
  });
  it('supports multi-line definitions continued with \\', () => {
    const r = parseText('$BODY=interface eth0 \\\n  virtual_router_id 9 \\\n  priority 42\nvrrp_instance VI_1 {\n  $BODY\n}\n');
    expect(vi(r).virtualRouterId).toBe(9);
    expect(vi(r).priority).toBe(42);
  });
  it('has the built-ins ${_INSTANCE} and ${_RANDOM}', () => {
    const r = parseText('global_defs {\n  router_id ${_INSTANCE}\n  vrrp_garp_master_repeat ${_RANDOM 3 7}\n}\n', { configId: 'node9' });
    expect(r.config.global.routerId).toBe('node9');
    expect(r.config.global.vrrpGarpMasterRepeat).toBeGreaterThanOrEqual(3);
    expect(r.config.global.vrrpGarpMasterRepeat).toBeLessThanOrEqual(7);
  });
});

describe('~SEQ / ~SEQx / ~LST', () => {
  it('repeats the rest of the line, nested, in order', () => {
    const body = (n: string) => `vrrp_instance VI_${n} {\n  interface eth0\n  virtual_router_id ${n}\n  virtual_ipaddress {\n    10.0.0.${n}\n  }\n}`;
    void body;
    const r = parseText(
      '$VI=vrrp_instance VI_${A}_${B} { \\\n interface eth0 \\\n virtual_router_id ${N} \\\n virtual_ipaddress { \\\n 10.0.${A}.${B} \\\n } \\\n }\n' +
        '~SEQ(A,1,2) ~LST(B,5,6) $N=${A}${B}\n' +
        '~SEQ(A,1,2) ~LST(B,5,6) $VI\n',
    );
    expect(r.config.vrrpInstances.map((v) => v.name)).toEqual(['VI_1_5', 'VI_1_6', 'VI_2_5', 'VI_2_6']);
    expect(r.config.vrrpInstances.map((v) => v.virtualIpAddresses[0]!.address)).toEqual(['10.0.1.5', '10.0.1.6', '10.0.2.5', '10.0.2.6']);
  });
  it('~SEQx gives hex values, and step/end forms follow keepalived', () => {
    const r = parseText('virtual_server_group G {\n~SEQx(X,9,1,11) 10.0.0.1 ${X}\n~SEQ(Y,3) fwmark ${Y}\n}\n');
    const g = r.config.virtualServerGroups[0]!;
    expect(g.entries.filter((e) => e.kind === 'address').map((e) => (e.kind === 'address' ? e.port : 0))).toEqual([9]);
    // hex 9,a,b: 'a' and 'b' are not decimal ports
    expect(messages(r)).toContain("invalid number 'a'");
    expect(g.entries.filter((e) => e.kind === 'fwmark').map((e) => (e.kind === 'fwmark' ? e.fwmark : 0))).toEqual([1, 2, 3]);
  });
  it('reports an invalid ~SEQ', () => {
    expect(messages(parseText('~SEQ(A,1,-1,5) foo\n'))[0]).toMatch(/Invalid ~SEQ/);
  });
});

describe('secrets', () => {
  it('never quotes an auth_pass value in a diagnostic', () => {
    const r = parseText(instance('  authentication {\n    auth_type PASS\n    auth_pass "TopSecret\n  }\n~SEQ(x,1,-1,3) auth_pass TopSecret'));
    expect(r.diagnostics.length).toBeGreaterThan(0);
    expect(JSON.stringify(r.diagnostics)).not.toContain('TopSecret');
    expect(messages(r).some((m) => m.includes('auth_pass <redacted>'))).toBe(true);
  });
});

describe('-e / --all-config', () => {
  it('makes a plain include that matches nothing an error', () => {
    expect(messages(parseText('include nothing/*.conf\n', { allConfig: true }))[0]).toMatch(/No config files matched 'nothing\/\*\.conf'/);
  });
});
