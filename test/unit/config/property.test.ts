// Robustness: 10,000 random mutations of the sample corpus (and the seed lab configs) never make
// the parser throw, and every diagnostic carries a file name and a line number >= 1.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/parse.js';

const SAMPLES = new URL('../../../../shared/keepalived-samples', import.meta.url).pathname;
const LAB = new URL('../../../config', import.meta.url).pathname;
const MAIN = '/virtual/keepalived.conf';

function corpus(): string[] {
  const texts: string[] = [];
  for (const dir of [SAMPLES, LAB]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (f.endsWith('.conf') || f.startsWith('keepalived.conf')) texts.push(readFileSync(join(dir, f), 'latin1'));
  }
  return texts;
}

const texts = corpus();

type Mutation =
  | { kind: 'delete' | 'duplicate'; at: number }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'bytes'; at: number; bytes: number[] }
  | { kind: 'truncate'; at: number };

const snippet = fc.constantFrom('{', '}', '{ }', '} {', 'include *', 'include /virtual/keepalived.conf', '@x foo', '$A=$A$A', '$A', '${A', '~SEQ(i,1,3) $i {', '~LST(x,a,b) ${x}', '"', 'virtual_server 1.2.3.4 80 {', 'real_server', 'TCP_CHECK {', '\\', '#', '!', 'vrrp_instance X {', 'virtual_ipaddress {', '$M=a \\');

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete' as const, 'duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), with: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(snippet, fc.string({ maxLength: 20 })) }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(text: string, muts: Mutation[]): string {
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
      case 'insert':
        lines.splice(i, 0, m.text);
        break;
      case 'bytes': {
        const line = lines[i] ?? '';
        const pos = line.length === 0 ? 0 : m.at % line.length;
        lines[i] = line.slice(0, pos) + String.fromCharCode(...m.bytes) + line.slice(pos);
        break;
      }
      case 'truncate': {
        const joined = lines.join('\n');
        lines = joined.slice(0, m.at % (joined.length + 1)).split('\n');
        break;
      }
    }
  }
  return lines.join('\n');
}

describe.skipIf(texts.length === 0)('parser robustness (fast-check)', () => {
  it('10,000 mutated corpus files: no throw, every diagnostic located', () => {
    fc.assert(
      fc.property(fc.nat({ max: texts.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.string({ maxLength: 8 }), (which, muts, id) => {
        const text = mutate(texts[which]!, muts);
        const files: Record<string, string> = { [MAIN]: text, '/virtual/inc.conf': 'global_defs {\n router_id inc\n}\n' };
        const r = parseConfig(MAIN, {
          hostname: 'h',
          configId: id,
          readFile: (p) => files[p],
          expandGlob: (p) => Object.keys(files).filter((f) => p.endsWith('*') ? f.startsWith(p.slice(0, -1)) : f === p),
          checkInterfaces: true,
          interfaceExists: (n) => n === 'eth0',
          scriptChecks: { scriptExists: (c) => c.startsWith('/bin'), userExists: () => false },
        });
        for (const d of r.diagnostics) {
          expect(d.file.length).toBeGreaterThan(0);
          expect(Number.isInteger(d.line) && d.line >= 1).toBe(true);
          expect(d.message).not.toMatch(/internal parser error/);
        }
        expect(() => JSON.stringify(r.config)).not.toThrow();
      }),
      { numRuns: 10_000, seed: 20261125 },
    );
  }, 60_000);
});
