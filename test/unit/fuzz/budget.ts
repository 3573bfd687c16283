// Fuzz budget shared by test/unit/fuzz/*: a fixed seed and run counts sized so the folder takes 20-40 s
// (CI). To explore: FUZZ_SEED=<int>|random, FUZZ_RUNS=<n> (every property) or <k>x (k times each default).
// fast-check prints the seed and path of a failure; rerun with FUZZ_SEED=<seed> to reproduce it.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';

const DEFAULT_SEED = 20_260_107;

function seedFromEnv(): number {
  const s = process.env['FUZZ_SEED'];
  if (s === undefined || s === '') return DEFAULT_SEED;
  if (s === 'random') return (Math.random() * 0x7fffffff) | 0;
  const n = Number(s);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED=${s}: expect an integer or "random"`);
  return n;
}

export const FUZZ_SEED = seedFromEnv();
const RUNS = process.env['FUZZ_RUNS'];
/** true when FUZZ_RUNS asks for more than the CI budget: tests then get no time limit. */
export const EXPLORING = RUNS !== undefined && RUNS !== '';

/** numRuns for a property whose CI budget is `ciRuns`. */
export function runs(ciRuns: number): number {
  if (!EXPLORING) return ciRuns;
  const m = /^(\d+(?:\.\d+)?)x$/.exec(RUNS!);
  const n = m ? Math.ceil(ciRuns * Number(m[1])) : Number(RUNS);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS=${RUNS}: expect <n> or <k>x`);
  return n;
}

/** fast-check parameters: the seed, the runs; each property gets its own seed derived from the suite's. */
export function params(ciRuns: number, salt: number): fc.Parameters<unknown> {
  return { seed: (FUZZ_SEED + salt * 7919) | 0, numRuns: runs(ciRuns) };
}

/** vitest timeout of one property: generous in CI, none (a day) when exploring. */
export const TIMEOUT_MS = EXPLORING ? 86_400_000 : 120_000;

/** Records unhandled rejections seen by this test file's process. */
export function watchUnhandledRejections(): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => void seen.push(reason);
  process.on('unhandledRejection', listener);
  return { seen, stop: () => void process.off('unhandledRejection', listener) };
}

let gcFn: (() => void) | undefined;
/** A full GC (node's --expose-gc, enabled at run time), or undefined when V8 refuses it. */
export function fullGc(): (() => void) | undefined {
  if (gcFn) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    if (typeof f === 'function') gcFn = f as () => void;
  } catch {
    // no GC: heap checks are skipped
  }
  return gcFn;
}

/** Heap used after full GCs. */
export function settledHeap(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

// ---- byte mutations (VRRP adverts, netlink datagrams) ----

export type ByteMutation =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'u16'; at: number; value: number; le: boolean }
  | { kind: 'insert'; at: number; bytes: number[] }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: number[] };

const byte = fc.integer({ min: 0, max: 255 });
const interesting16 = fc.constantFrom(0, 1, 3, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffc, 0xffff);

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(byte, fc.constantFrom(0, 1, 2, 3, 0x7f, 0x80, 0xff)) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.oneof(interesting16, fc.integer({ min: 0, max: 0xffff })), le: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(byte, { minLength: 1, maxLength: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('extend' as const), bytes: fc.array(byte, { minLength: 1, maxLength: 64 }) }) },
);

/** Applies mutations to a copy; positions wrap around the current length. */
export function mutateBytes(src: Uint8Array, muts: readonly ByteMutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of muts) {
    const n = b.length;
    switch (m.kind) {
      case 'set':
        if (n > 0) b[m.at % n] = m.value;
        break;
      case 'flip':
        if (n > 0) b[m.at % n] = b[m.at % n]! ^ (1 << m.bit);
        break;
      case 'u16':
        if (n >= 2) {
          const at = m.at % (n - 1);
          if (m.le) b.writeUInt16LE(m.value, at);
          else b.writeUInt16BE(m.value, at);
        }
        break;
      case 'insert': {
        const at = m.at % (n + 1);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
        break;
      }
      case 'delete':
        if (n > 0) {
          const at = m.at % n;
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.count)]);
        }
        break;
      case 'truncate':
        b = b.subarray(0, m.at % (n + 1));
        break;
      case 'extend':
        b = Buffer.concat([b, Buffer.from(m.bytes)]);
        break;
    }
  }
  return Buffer.from(b);
}
