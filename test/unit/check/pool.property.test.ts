import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredEntries, initialPool, updatePool, type RealServerStatus } from '../../../src/check/pool.js';
import type { VirtualServerSpec } from '../../../src/check/types.js';
import { realServer, virtualServer } from './helpers.js';

const arbVs = fc
  .record({
    weights: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }),
    inhibit: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    quorum: fc.integer({ min: 1, max: 12 }),
    hysteresis: fc.integer({ min: 0, max: 4 }),
    sorry: fc.constantFrom<'none' | 'plain' | 'inhibit'>('none', 'plain', 'inhibit'),
  })
  .map(({ weights, inhibit, quorum, hysteresis, sorry }): VirtualServerSpec => {
    const rs = weights.map((w, i) => realServer(`10.0.1.${i + 1}`, 80, { weight: w, inhibitOnFailure: inhibit[i] ?? false }));
    const h = Math.min(hysteresis, quorum - 1);
    return virtualServer('10.0.0.1', 80, rs, {
      quorum,
      hysteresis: h,
      sorryServer:
        sorry === 'none'
          ? undefined
          : { label: '[10.0.9.9]:tcp:80', family: 'inet', address: '10.0.9.9', port: 80, weight: 1, forward: 'masq', inhibit: sorry === 'inhibit' },
    });
  });

describe('pool invariants (property)', () => {
  it('desired rows always follow the alive states, quorum and sorry-server rules', () => {
    fc.assert(
      // The runtime reports one checker result at a time, so each step toggles one real server.
      fc.property(arbVs, fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 30 }), (vs, start, toggles) => {
        const statuses = (alive: boolean[]) => {
          const out: Record<string, RealServerStatus> = {};
          vs.realServers.forEach((r, i) => (out[r.id] = { alive: alive[i] ?? false, weight: r.weight }));
          return out;
        };
        const alive = [...start];
        let { state } = initialPool(vs, statuses(alive));
        for (const t of toggles) {
          alive[t] = !alive[t];
          const prevUp = state.quorumUp;
          const step = updatePool(vs, state, statuses(alive));
          state = step.state;
          const live = vs.realServers.reduce((s, r, i) => s + (alive[i] ? r.weight : 0), 0);
          // Hysteresis: the quorum state only changes across the right threshold.
          if (!prevUp && state.quorumUp) expect(live).toBeGreaterThanOrEqual(vs.quorum + vs.hysteresis);
          if (prevUp && !state.quorumUp) expect(live === 0 || live < vs.quorum - vs.hysteresis).toBe(true);
          if (live >= vs.quorum + vs.hysteresis) expect(state.quorumUp).toBe(true);
          if (live === 0 || live < vs.quorum - vs.hysteresis) expect(state.quorumUp).toBe(false);
          const dests = desiredEntries(vs, state)[0]?.destinations ?? [];
          const sorryActive = !state.quorumUp && vs.sorryServer !== undefined;
          vs.realServers.forEach((r, i) => {
            const d = dests.find((x) => x.address === r.address);
            if (alive[i] && !sorryActive) expect(d?.weight).toBe(r.weight);
            else if (r.inhibitOnFailure) expect(d?.weight).toBe(0);
            else expect(d).toBeUndefined();
          });
          const sorry = dests.find((x) => x.address === '10.0.9.9');
          if (sorryActive) expect(sorry?.weight).toBe(1);
          else if (vs.sorryServer?.inhibit) expect(sorry?.weight).toBe(0);
          else expect(sorry).toBeUndefined();
          // Quorum events match quorum changes, one per change.
          const vsEvents = step.events.filter((e) => e.kind === 'vs');
          expect(vsEvents.length).toBeLessThanOrEqual(vs.realServers.length);
          if (vsEvents.length > 0) expect(vsEvents.at(-1)?.state).toBe(state.quorumUp ? 'UP' : 'DOWN');
        }
      }),
      { numRuns: 300 },
    );
  });
});
