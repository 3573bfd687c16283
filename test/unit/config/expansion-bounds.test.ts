// Expansion bombs: `include` with many `{a,b}` groups, $VAR definitions growing x10 per level, ~SEQ
// ranges, include trees. Each gives one config error at its file:line, naming the construct and the
// bound, after a bounded amount of work (lines, bytes and files counted through the reader), instead of
// exhausting the heap (before these bounds, each of these tests crashed or hung the parser). Large
// valid configurations, expanded or not, still read as before.
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/config/model.js';
import { expandBraces, expandGlob } from '../../../src/config/node-io.js';
import { parseConfig } from '../../../src/config/parse.js';
import { braceExpansionCount, LineReader, type FileAccess } from '../../../src/config/reader.js';
import { parseVirtual } from './helpers.js';

const MAIN = '/etc/keepalived/keepalived.conf';
const dir = mkdtempSync(join(tmpdir(), 'lvskeeper-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Drives the line reader alone over virtual files, counting what it produces and reads. */
function readAll(files: Record<string, string>): { lines: number; bytes: number; reads: number; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  let reads = 0;
  const access: FileAccess = {
    readFile: (p) => {
      reads++;
      return files[p];
    },
    expandGlob: (p) => (files[p] === undefined ? [] : [p]),
    dirname: (p) => p.slice(0, p.lastIndexOf('/')) || '/',
    resolve: (d, p) => (p.startsWith('/') ? p : `${d}/${p}`),
    cwd: () => '/',
  };
  const reader = new LineReader(MAIN, access, 'testhost', (d) => diagnostics.push(d));
  reader.open();
  let lines = 0;
  let bytes = 0;
  for (let words = reader.next(); words !== undefined; words = reader.next()) {
    lines++;
    for (const w of words) bytes += w.length;
  }
  return { lines, bytes, reads, diagnostics };
}

const errors = (ds: readonly Diagnostic[]): string[] => ds.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}`);

/** $A is 10 bytes, each next level 10 references to the one before: $L would be 10^12 bytes. */
function definitionBomb(reference: (name: string) => string): string {
  const names = 'ABCDEFGHIJKL';
  let text = '$A=xxxxxxxxxx\n';
  for (let i = 1; i < names.length; i++) text += `$${names[i]}=${Array.from({ length: 10 }, () => reference(names[i - 1]!)).join('')}\n`;
  return `${text}global_defs {\n  router_id ${reference('L').trim()}\n}\n`;
}

describe('$VAR definitions growing x10 per level', () => {
  it.each([
    ['${A}${A}...', (n: string) => `\${${n}}`],
    ['$A $A ...', (n: string) => `$${n} `],
  ])('%s: one error at the line using it, no line longer than keepalived’s 1023 bytes', (_shape, reference) => {
    const r = readAll({ [MAIN]: definitionBomb(reference) });
    expect(errors(r.diagnostics)).toEqual([
      expect.stringMatching(/^\/etc\/keepalived\/keepalived\.conf:14: '\$\{?[A-L]\}?' expands the line to more than 1023 bytes \(keepalived's line buffer\): 'router_id \$\{?L\}?'$/),
    ]);
    expect(r.bytes).toBeLessThan(200); // the refused line is dropped
    // Through the whole parser: the same error, and router_id keeps its default.
    const p = parseVirtual({ [MAIN]: definitionBomb(reference) });
    expect(p.diagnostics.map((d) => d.line)).toEqual([14]);
    expect(p.config.global.routerId).toBe('testhost');
  });

  it('a multi-line definition of ten lines per level stops at the bytes bound', () => {
    // Each level: 10 lines of 1000-byte text plus a reference to the level below: 10^7 lines at level 7.
    const pad = 'y'.repeat(1000);
    let text = `$L0=${pad}\n`;
    for (let i = 1; i <= 7; i++) {
      text += `$L${i}=${pad} \\\n`;
      for (let j = 0; j < 9; j++) text += `$L${i - 1} \\\n`;
      text += `$L${i - 1}\n`;
    }
    text += '$L7\n';
    const r = readAll({ [MAIN]: text });
    expect(errors(r.diagnostics)).toEqual([`${MAIN}:79: '$L7' expands to more than 67108864 bytes (counting the expansions before it)`]);
    expect(r.bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
  });

  it('a self-reference is an error after 32 nested passes (keepalived loops forever on it)', () => {
    const r = readAll({ [MAIN]: '$A=${A}\nglobal_defs {\n  router_id x${A}\n}\n' });
    expect(errors(r.diagnostics)).toEqual([`${MAIN}:3: Definitions in 'router_id x\${A}' nest more than 32 levels deep`]);
  });
});

describe('~SEQ', () => {
  it('a range longer than 1,000,000 lines is refused before any of it is produced', () => {
    const r = readAll({ [MAIN]: 'virtual_server 10.0.0.1 80 {\n~SEQ(i,1,100000000) real_server 10.1.0.1 $i\n}\n' });
    expect(errors(r.diagnostics)).toEqual([`${MAIN}:2: '~SEQ(i,1,100000000) real_server 10.1.0.1 $i' expands to more than 1000000 lines`]);
    expect(r.lines).toBe(3); // virtual_server, { and }
  });

  it('nested ranges stop at the lines bound, after one error', () => {
    const r = readAll({ [MAIN]: '~SEQ(i,1,1000) ~SEQ(j,1,1000) ~SEQ(k,1,1000) x $i $j $k\n' });
    expect(errors(r.diagnostics)).toEqual([`${MAIN}:1: '~SEQ(i,1,1000) ~SEQ(j,1,1000) ~SEQ(k,1,1000) x $i $j $k' expands to more than 1000000 lines (counting the expansions before it)`]);
    expect(r.lines).toBeLessThan(1_000_000);
  });

  it('nested ranges of long lines stop at the bytes bound', () => {
    const r = readAll({ [MAIN]: `~SEQ(i,1,1000) ~SEQ(j,1,1000) x ${'z'.repeat(1000)} $i $j\n` });
    expect(errors(r.diagnostics)).toEqual([expect.stringMatching(/^\/etc\/keepalived\/keepalived\.conf:1: '~SEQ\(i,1,1000\) ~SEQ\(j,1,1000\) x z+\.\.\.' expands to more than 67108864 bytes \(counting the expansions before it\)$/)]);
    expect(r.bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
  });

  it('parameters longer than keepalived’s 64-byte buffer are refused as keepalived does', () => {
    const r = readAll({ [MAIN]: `~SEQ(i,1,1${'0'.repeat(70)}) x $i\n` });
    expect(errors(r.diagnostics)).toEqual([expect.stringMatching(/^\/etc\/keepalived\/keepalived\.conf:1: ~SEQ parameter strings too long '~SEQ\(i,1,10+\.\.\.'$/)]);
    expect(r.lines).toBe(0);
  });
});

describe('include', () => {
  const bomb = `${dir}/none${'{a,b}'.repeat(40)}.conf`;

  it('40 brace groups (2^40 patterns): one error at the include, no pattern expanded; a few groups still work', () => {
    writeFileSync(join(dir, 'a.inc'), 'global_defs {\n  router_id A\n}\n');
    writeFileSync(join(dir, 'b.inc'), 'global_defs {\n  router_id B\n}\n');
    const main = join(dir, 'braces.conf');
    writeFileSync(main, `include ${dir}/{a,b}.inc\ninclude ${bomb}\n`);
    const globbed: string[] = [];
    const r = parseConfig(main, {
      hostname: 'h',
      expandGlob: (p) => {
        globbed.push(p);
        return expandGlob(p);
      },
    });
    expect(errors(r.diagnostics)).toEqual([`${main}:2: include '${bomb.slice(0, 77)}...' expands to more than 1024 patterns`]);
    expect(globbed).toEqual([`${dir}/{a,b}.inc`]);
    expect(r.config.global.routerId).toBe('B');
  });

  it('node-io expands at most one pattern past its limit', () => {
    expect(expandBraces(bomb, 1024)).toHaveLength(1025);
    expect(() => expandGlob(bomb)).toThrow(/more than 1024 patterns/);
  });

  it('counts brace expansions as node-io expands them, without expanding', () => {
    const patterns = ['a', '{a,b}', 'x{a,b}y{c,d,e}', '{a,{b,c}d}{e,f}', 'a{b{c,d}', 'x{a,b}y{c', '{}', '{a}{b,c}', '{,a}{{b},c}', '}{a,b}{'];
    for (const p of patterns) expect([p, braceExpansionCount(p, 1e9)]).toEqual([p, expandBraces(p).length]);
    expect(braceExpansionCount('{a,b}'.repeat(40), 1024)).toBe(1025);
  });

  it('an include tree reading 10^5 files stops after 10,000 reads', () => {
    // Each level includes the next ten times.
    const files: Record<string, string> = { [MAIN]: 'include /l1.conf\n'.repeat(10) };
    for (let i = 1; i <= 4; i++) files[`/l${i}.conf`] = `include /l${i + 1}.conf\n`.repeat(10);
    files['/l5.conf'] = 'x\n';
    const r = readAll(files);
    expect(errors(r.diagnostics)).toEqual([`/l4.conf:10: include '/l5.conf' reads more than 10000 files (counting the files before it)`]);
    expect(r.reads).toBeLessThanOrEqual(10_001);
    expect(r.lines).toBeLessThan(10_000);
  });

  it('files over 64 MiB in total are refused, and read no further than the bound', () => {
    const big = join(dir, 'big.conf');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 64 * 1024 * 1024 + 1); // sparse: 64 MiB + 1 of NULs
    closeSync(fd);
    const r = parseConfig(big, { hostname: 'h' });
    expect(errors(r.diagnostics)).toEqual([`${big}:1: Configuration file '${big}' is larger than 67108864 bytes`]);
    const main = join(dir, 'includes-big.conf');
    writeFileSync(main, `global_defs {\n}\ninclude ${big}\n`);
    expect(errors(parseConfig(main, { hostname: 'h' }).diagnostics)).toEqual([`${main}:3: include '${big}' reads more than 67108864 bytes (counting the files before it)`]);
  });
});

describe('a 4 MB line of 2,000,000 braces', () => {
  // Each `{` puts the rest of the line through conditionals and definitions again (keepalived's
  // line residue): rescanned whole, that was quadratic (hours for this line).
  const braces = `global_defs ${'{ '.repeat(2_000_000)}`;

  it('without $ or include, splits in one pass', () => {
    const r = readAll({ [MAIN]: `${braces}\n` });
    expect(r.diagnostics).toEqual([]);
    expect(r.lines).toBe(2_000_001);
  });

  it('with a $ to look for, stops at the bytes bound', () => {
    const r = readAll({ [MAIN]: `${braces}$U\n` });
    expect(errors(r.diagnostics)).toEqual([`${MAIN}:1: '${braces.slice(0, 77)}...' expands to more than 67108864 bytes (counting the expansions before it)`]);
    expect(r.lines).toBeLessThan(100);
  });
});

describe('large valid configurations', () => {
  /** Config without its source locations, which differ between the two forms. */
  const shape = (v: unknown): string => JSON.stringify(v, (k, x: unknown) => (k === 'location' || k === 'file' ? undefined : x));

  it('the bench farm (2,048 x 20 real servers) reads the same written out and generated by ~SEQ', async () => {
    const genPath = new URL('../../../bench/lib/gen-config.mjs', import.meta.url).href;
    const { generateLargeConfig } = (await import(genPath)) as { generateLargeConfig: (o: { virtualServers: number }) => string };
    const plainFile = join(dir, 'farm.conf');
    writeFileSync(plainFile, generateLargeConfig({ virtualServers: 2048 }));
    const plain = parseConfig(plainFile, { hostname: 'h' });
    expect(plain.diagnostics).toEqual([]);
    expect(plain.config.virtualServers).toHaveLength(2048);
    expect(plain.config.virtualServers.reduce((n, vs) => n + vs.realServers.length, 0)).toBe(40_960);

    // The same farm from definitions and ~SEQ: 385k expanded lines, within the bounds.
    const generated = [
      'global_defs {', '    router_id BENCH', '}',
      'vrrp_instance VI_1 {', '    state BACKUP', '    interface lo', '    virtual_router_id 51', '    priority 100', '    advert_int 1',
      '    virtual_ipaddress {', '        10.200.0.1', '    }', '}',
      '$RS=real_server 172.16.${b}.${r} 80 { \\', 'weight 1 \\', 'TCP_CHECK { \\', 'connect_port 80 \\', 'connect_timeout 3 \\',
      'retry 3 \\', 'delay_before_retry 3 \\', '} \\', '}',
      '$VS=virtual_server 10.100.${a}.${b} 80 { \\', 'delay_loop 6 \\', 'lb_algo wrr \\', 'lb_kind DR \\', 'persistence_timeout 50 \\',
      'protocol TCP \\', '~SEQ(r,1,20) $RS \\', '}',
      '~SEQ(a,0,7) ~SEQ(b,0,255) $VS',
    ].join('\n');
    const generatedFile = join(dir, 'farm-seq.conf');
    writeFileSync(generatedFile, `${generated}\n`);
    const expanded = parseConfig(generatedFile, { hostname: 'h' });
    expect(expanded.diagnostics).toEqual([]);
    expect(shape(expanded.config)).toBe(shape(plain.config));
  });
});
