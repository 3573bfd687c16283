// Reconciler property test against the real kernel: ≥200 random small desired states in one VM boot.
// After each reconcile the kernel (read back by the client AND by the real ipvsadm) equals the desired
// state, a foreign service outside the scope is untouched, and a second reconcile plans nothing and sends
// only read (dump) requests.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IpvsClient } from '../../../src/ipvs/client.js';
import { NLM_F_ACK, NLM_F_DUMP } from '../../../src/ipvs/codec.js';
import { destKeyId, reconcile, serviceKeyId } from '../../../src/ipvs/reconcile.js';
import type { Destination, ServiceEntry, ServiceKey } from '../../../src/ipvs/types.js';
import { ipvsadm, recordingClient, resetKernel, saved } from './helpers.js';

const FOREIGN: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.0.2.1', port: 1 };
const FOREIGN_LINES = ['-A -t 192.0.2.1:1 -s rr', '-a -t 192.0.2.1:1 -r 192.0.2.2:1 -m -w 1'];
const scope = { owned: (k: ServiceKey) => serviceKeyId(k) !== serviceKeyId(FOREIGN) };

const arbKey: fc.Arbitrary<ServiceKey> = fc.oneof(
  fc.record({
    kind: fc.constant('addr' as const),
    family: fc.constant('inet' as const),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const, 'sctp' as const),
    address: fc.constantFrom('10.0.0.1', '10.0.0.2'),
    port: fc.constantFrom(80, 443),
  }),
  fc.record({
    kind: fc.constant('addr' as const),
    family: fc.constant('inet6' as const),
    protocol: fc.constantFrom('tcp' as const, 'udp' as const),
    address: fc.constantFrom('2001:db8::1', '2001:db8::2'),
    port: fc.constantFrom(80, 443),
  }),
  fc.record({ kind: fc.constant('fwmark' as const), family: fc.constantFrom('inet' as const, 'inet6' as const), fwmark: fc.integer({ min: 1, max: 3 }) }),
);

const arbDest = (family: 'inet' | 'inet6'): fc.Arbitrary<Destination> =>
  fc
    .record({
      address: family === 'inet' ? fc.constantFrom('10.1.0.1', '10.1.0.2', '10.1.0.3', '10.1.0.4') : fc.constantFrom('2001:db8:1::1', '2001:db8:1::2', '2001:db8:1::3'),
      port: fc.constantFrom(80, 8080),
      fwd: fc.constantFrom('masq', 'route', 'ipip', 'gue', 'gre'),
      weight: fc.integer({ min: 0, max: 5 }),
      thresholds: fc.constantFrom([0, 0], [10, 0], [10, 5]),
    })
    .map(({ address, port, fwd, weight, thresholds }) => {
      const d: Destination = { family, address, port, forward: 'masq', weight, upperThreshold: thresholds[0]!, lowerThreshold: thresholds[1]! };
      if (fwd === 'route') d.forward = 'route';
      if (fwd === 'ipip' || fwd === 'gue' || fwd === 'gre') {
        d.forward = 'tunnel';
        d.tunnelType = fwd;
        d.tunnelPort = fwd === 'gue' ? 6080 : 0;
        d.tunnelFlags = fwd === 'gre' ? 1 : 0;
      }
      return d;
    });

const arbEntry: fc.Arbitrary<ServiceEntry> = arbKey.chain((key) =>
  fc
    .record({
      scheduler: fc.constantFrom('rr', 'wrr', 'wlc', 'lc', 'sh', 'mh'),
      persistent: fc.boolean(),
      wideMask: fc.boolean(),
      schedFlags: fc.constantFrom(0, 0x8, 0x10, 0x18),
      destinations: fc.uniqueArray(arbDest(key.family), { maxLength: 3, selector: destKeyId }),
    })
    .map(({ scheduler, persistent, wideMask, schedFlags, destinations }) => ({
      service: {
        key,
        scheduler,
        flags: (persistent ? 1 : 0) | (scheduler === 'sh' || scheduler === 'mh' ? schedFlags : 0),
        timeout: persistent ? 300 : 0,
        netmask: key.family === 'inet' ? (persistent && wideMask ? '255.255.255.0' : '255.255.255.255') : persistent && wideMask ? '64' : '128',
      },
      destinations,
    })),
);
const arbDesired = fc.uniqueArray(arbEntry, { maxLength: 3, selector: (e) => serviceKeyId(e.service.key) });

/** Comparable form of a table: kernel-only fields dropped, tunnel fields only for tunnels, sorted. */
function normalize(t: readonly ServiceEntry[]): unknown {
  return t
    .filter((e) => serviceKeyId(e.service.key) !== serviceKeyId(FOREIGN))
    .map((e) => ({
      id: serviceKeyId(e.service.key),
      scheduler: e.service.scheduler,
      flags: e.service.flags,
      timeout: e.service.timeout,
      netmask: e.service.netmask,
      dests: e.destinations
        .map((d) => [destKeyId(d), d.forward, d.weight, d.upperThreshold, d.lowerThreshold, d.forward === 'tunnel' ? `${d.tunnelType}/${d.tunnelPort}/${d.tunnelFlags}` : ''])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** ipvsadm -S -n spelling of the identifying part of a service (what follows -A / -a). */
function ruleKey(k: ServiceKey): string {
  if (k.kind === 'fwmark') return `-f ${k.fwmark}${k.family === 'inet6' ? ' -6' : ''}`;
  const opt = k.protocol === 'tcp' ? '-t' : k.protocol === 'udp' ? '-u' : '--sctp-service';
  return `${opt} ${k.family === 'inet6' ? `[${k.address}]` : k.address}:${k.port}`;
}

/** Projection of the desired table onto ipvsadm -S -n lines: key, scheduler, persistence; dest, method, weight. */
function expectedRules(desired: readonly ServiceEntry[]): string[] {
  const out: string[] = [];
  for (const e of desired) {
    const s = e.service;
    out.push(`-A ${ruleKey(s.key)} -s ${s.scheduler}${s.flags & 1 ? ` -p ${s.timeout}` : ''}`);
    for (const d of e.destinations) {
      const addr = d.family === 'inet6' ? `[${d.address}]` : d.address;
      const m = d.forward === 'masq' ? '-m' : d.forward === 'route' ? '-g' : '-i';
      out.push(`-a ${ruleKey(s.key)} -r ${addr}:${d.port} ${m} -w ${d.weight}`);
    }
  }
  return out.sort();
}
/** The same projection of real ipvsadm -S -n output. */
function actualRules(lines: string[]): string[] {
  return lines
    .filter((l) => !FOREIGN_LINES.includes(l))
    .map((l) => {
      const sched = /^(-A .*? -s \S+)(?: -p (\d+))?/.exec(l);
      if (l.startsWith('-A ') && sched) return `${sched[1]}${sched[2] ? ` -p ${sched[2]}` : ''}`;
      const dest = /^(-a .*? -r \S+ -[mgi] -w \d+)/.exec(l);
      return dest ? dest[1]! : l;
    })
    .sort();
}

let client: IpvsClient;
let sent: Array<{ flags: number; cmd: number }>;
beforeAll(async () => {
  resetKernel();
  ipvsadm('-A', '-t', '192.0.2.1:1', '-s', 'rr');
  ipvsadm('-a', '-t', '192.0.2.1:1', '-r', '192.0.2.2:1', '-m');
  ({ client, sent } = await recordingClient());
});
afterAll(() => {
  client?.close();
  resetKernel();
});

describe('reconcile against the kernel', () => {
  it('converges on 200+ random desired states; the second pass sends no write', async () => {
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(arbDesired, async (desired) => {
        cases++;
        const first = await reconcile(client, desired, scope);
        expect(first.failed.map((f) => [f.op.op, f.error.message])).toEqual([]);
        expect(normalize(await client.getAll())).toEqual(normalize(desired));
        const rules = saved();
        expect(actualRules(rules)).toEqual(expectedRules(desired));
        for (const l of FOREIGN_LINES) expect(rules).toContain(l);

        sent.length = 0;
        const second = await reconcile(client, desired, scope);
        expect(second.ops).toEqual([]);
        expect(sent.length).toBeGreaterThan(0);
        for (const m of sent) {
          expect(m.flags & NLM_F_DUMP).toBe(NLM_F_DUMP); // reads only
          expect(m.flags & NLM_F_ACK).toBe(0);
        }
      }),
      { numRuns: 220, endOnFailure: true },
    );
    expect(cases).toBeGreaterThanOrEqual(200);
  }, 900_000);
});
