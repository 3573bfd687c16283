// The checker child's part of `lvskeeper status`: each virtual server with its real servers, from the
// checkers' own view (alive, last error), the kernel's (weight and counters now) and the gating
// (whether this node programs it now, and why).
import { CHECK_DURATION_BOUNDS_S, type VirtualServerStatusReport } from '../../check/runtime.js';
import type { VirtualServerSpec } from '../../check/types.js';
import { canonicalAddress } from '../../ipvs/address.js';
import { serviceKeyId } from '../../ipvs/reconcile.js';
import type { ServiceEntry, ServiceKey, Stats } from '../../ipvs/types.js';
import type { HistogramTotals, IpvsCounters, VirtualServerStatus } from './model.js';

export interface Gate {
  programmed: boolean;
  why: string;
}

export interface CheckerStatusInputs {
  specs: readonly VirtualServerSpec[];
  reports: readonly VirtualServerStatusReport[];
  /** The kernel's IPVS table now, with counters (empty when IPVS cannot be read). */
  kernel: readonly ServiceEntry[];
  gate: (key: ServiceKey) => Gate;
  /** When each real server ("vsId rsId") last went up or down. */
  since: ReadonlyMap<string, number>;
}

export function counters(s: Stats | undefined): IpvsCounters | undefined {
  if (!s) return undefined;
  return { connections: Number(s.conns), packetsIn: Number(s.inPkts), packetsOut: Number(s.outPkts), bytesIn: Number(s.inBytes), bytesOut: Number(s.outBytes) };
}

/** Per-bucket counts (last one +Inf) → Prometheus' cumulative form. */
function histogram(buckets: readonly number[], sumS: number): HistogramTotals {
  const counts: number[] = [];
  let running = 0;
  for (let i = 0; i < CHECK_DURATION_BOUNDS_S.length; i++) counts.push((running += buckets[i] ?? 0));
  return { bounds: [...CHECK_DURATION_BOUNDS_S], counts, count: running + (buckets[CHECK_DURATION_BOUNDS_S.length] ?? 0), sum: sumS };
}

export function virtualServerStatus(inputs: CheckerStatusInputs): VirtualServerStatus[] {
  const kernel = new Map(inputs.kernel.map((e) => [serviceKeyId(e.service.key), e]));
  const reports = new Map(inputs.reports.map((r) => [r.id, r]));
  const out: VirtualServerStatus[] = [];
  for (const spec of inputs.specs) {
    const report = reports.get(spec.id);
    // A virtual_server_group has several keys; the first one stands for the group's gating and counters.
    const key = spec.keys[0];
    const entry = key && kernel.get(serviceKeyId(key));
    const gate = key ? inputs.gate(key) : { programmed: false, why: 'no address' };
    out.push({
      label: spec.label,
      protocol: key?.kind === 'addr' ? key.protocol : 'fwmark',
      address: key?.kind === 'addr' ? key.address : undefined,
      port: key?.kind === 'addr' ? key.port : undefined,
      fwmark: key?.kind === 'fwmark' ? key.fwmark : undefined,
      quorumUp: report?.quorumUp ?? false,
      programmedHere: gate.programmed && entry !== undefined,
      why: gate.programmed && !entry ? `${gate.why}, but not in IPVS now` : gate.why,
      stats: counters(entry?.service.stats),
      realServers: spec.realServers.map((rs) => {
        const r = report?.realServers.find((x) => x.id === rs.id);
        const dest = entry?.destinations.find((d) => d.port === rs.port && canonicalAddress(d.family, d.address) === canonicalAddress(rs.family, rs.address));
        const failing = r?.checkers.find((c) => c.hasRun && !c.up);
        return {
          address: rs.address,
          port: rs.port,
          alive: r?.alive ?? false,
          since: inputs.since.get(`${spec.id} ${rs.id}`),
          lastError: failing?.lastReason,
          kernelWeight: dest?.weight,
          checkers: r?.checkers.length ?? 0,
          checkersFailing: r?.checkers.filter((c) => c.hasRun && !c.up).length ?? 0,
          checksRun: r?.checksRun,
          checksFailed: r?.checksFailed,
          checkDurations: r ? histogram(r.durationBuckets, r.durationSumS) : undefined,
          stats: counters(dest?.stats),
        };
      }),
    });
  }
  return out;
}
