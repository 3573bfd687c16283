// A large table (1,000 services × 10 destinations by default) applied with one pipelined apply() must produce
// exactly what `ipvsadm -R` produces from the same rules, and getAll() must read it all back. Timings are
// only printed (a timed assertion flakes on a loaded host); speed is measured by bench/ipvs.mjs.
// Scale with IPVS_RESTORE_SERVICES / IPVS_RESTORE_DESTS.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIpvs, type IpvsClient } from '../../../src/ipvs/client.js';
import type { IpvsOp } from '../../../src/ipvs/ops.js';
import type { ServiceKey } from '../../../src/ipvs/types.js';
import { recordingClient, resetKernel, saved } from './helpers.js';

const SERVICES = Number(process.env.IPVS_RESTORE_SERVICES ?? 1000);
const DESTS = Number(process.env.IPVS_RESTORE_DESTS ?? 10);

const vip = (i: number): string => `10.10.${i >> 8}.${i & 0xff}`;
const rip = (i: number, j: number): string => `10.${20 + j}.${i >> 8}.${i & 0xff}`;

let client: IpvsClient;
beforeAll(async () => {
  resetKernel();
  ({ client } = await recordingClient({ timeoutMs: 60_000 }));
});
afterAll(() => {
  client?.close();
  resetKernel();
});

describe('bulk restore', () => {
  it(`${SERVICES} services × ${DESTS} dests: apply() equals ipvsadm -R; getAll() reads it back`, async () => {
    const rules: string[] = [];
    const ops: IpvsOp[] = [];
    for (let i = 0; i < SERVICES; i++) {
      const key: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: vip(i), port: 80 };
      rules.push(`-A -t ${vip(i)}:80 -s wlc`);
      ops.push({ op: 'add-service', service: { key, scheduler: 'wlc', flags: 0, timeout: 0, netmask: '255.255.255.255' } });
      for (let j = 0; j < DESTS; j++) {
        const w = (i + j) % 7;
        rules.push(`-a -t ${vip(i)}:80 -r ${rip(i, j)}:8080 -m -w ${w}`);
        ops.push({ op: 'add-dest', key, dest: { family: 'inet', address: rip(i, j), port: 8080, forward: 'masq', weight: w, upperThreshold: 0, lowerThreshold: 0 } });
      }
    }

    let t = performance.now();
    execFileSync('ipvsadm', ['-R'], { input: rules.join('\n') + '\n' });
    const ipvsadmMs = performance.now() - t;
    const reference = saved();
    expect(reference).toHaveLength(SERVICES * (DESTS + 1));

    resetKernel();
    t = performance.now();
    const errors = await client.apply(ops);
    const applyMs = performance.now() - t;
    expect(errors.filter(Boolean)).toEqual([]);
    expect(saved()).toEqual(reference);

    console.log(`restore of ${ops.length} ops: ipvsadm -R ${ipvsadmMs.toFixed(0)} ms, pipelined apply ${applyMs.toFixed(0)} ms (window ${client.windowSize})`);

    resetKernel();
    const strict = await recordingClient({ timeoutMs: 60_000, ackEach: true });
    t = performance.now();
    expect((await strict.client.apply(ops)).filter(Boolean)).toEqual([]);
    console.log(`same with an ACK for every request (ackEach): ${(performance.now() - t).toFixed(0)} ms`);
    strict.client.close();
    expect(saved()).toEqual(reference);

    t = performance.now();
    const all = await client.getAll();
    console.log(`getAll of ${all.length} services: ${(performance.now() - t).toFixed(0)} ms`);
    expect(all.reduce((n, e) => n + e.destinations.length, 0)).toBe(SERVICES * DESTS);

    // openIpvs() spreads the GET_DEST dumps over several sockets: the same entries, in the same order
    const pooled = await openIpvs({ timeoutMs: 60_000 });
    t = performance.now();
    const concurrent = await pooled.getAll();
    console.log(`getAll over several sockets: ${(performance.now() - t).toFixed(0)} ms`);
    pooled.close();
    expect(concurrent).toEqual(all);
  }, 1_800_000);
});
