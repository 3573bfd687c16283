// track_file / track_process bound to instances and sync groups by the VRRP engine, with fake sources,
// on the fake wire of engine-harness.ts: priority, FAULT and its reason, reload keeping state, status.
import { describe, expect, it } from 'vitest';
import type { TrackFile, VrrpTrackProcess } from '../../../src/config/model.js';
import type { FileTrackSource, ProcessTrackSource } from '../../../src/daemon/object-trackers.js';
import type { ProcessStatus } from '../../../src/daemon/process-tracker.js';
import { vrrpStatus } from '../../../src/daemon/status/vrrp-status.js';
import { VrrpEngine } from '../../../src/daemon/vrrp-engine.js';
import { FakeTimers } from '../../../src/vrrp/timers.js';
import { Node, parse, run, Wire } from './engine-harness.js';

class FakeFiles implements FileTrackSource {
  values = new Map<string, number>();
  configured: string[][] = [];
  private l: ((n: string, v: number) => void)[] = [];
  configure(defs: readonly TrackFile[]): void {
    this.configured.push(defs.map((d) => d.name));
  }
  value(name: string): number | undefined {
    return this.values.get(name) ?? 0;
  }
  onChange(listener: (name: string, value: number) => void): () => void {
    this.l.push(listener);
    return () => undefined;
  }
  stop(): void {}
  set(name: string, v: number): void {
    this.values.set(name, v);
    for (const f of this.l) f(name, v);
  }
}

class FakeProcesses implements ProcessTrackSource {
  counts = new Map<string, number>();
  private l: ((n: string, s: ProcessStatus) => void)[] = [];
  async configure(_specs: readonly VrrpTrackProcess[]): Promise<void> {}
  status(name: string): ProcessStatus | undefined {
    const c = this.counts.get(name) ?? 1;
    return { up: c >= 1, count: c, detail: `${c} process${c === 1 ? '' : 'es'}, quorum 1` };
  }
  onChange(listener: (name: string, status: ProcessStatus) => void): () => void {
    this.l.push(listener);
    return () => undefined;
  }
  stop(): void {}
  set(name: string, c: number): void {
    this.counts.set(name, c);
    for (const f of this.l) f(name, this.status(name)!);
  }
}

const DEFS = `
track_file tf1 {
  file /run/lvsk-test/tf1
  weight -20
}
vrrp_track_process nginx {
  process nginx
}
`;

const inst = (name: string, vrid: number, prio: number, extra = '') => `
vrrp_instance ${name} {
  state BACKUP
  interface eth0
  virtual_router_id ${vrid}
  priority ${prio}
  advert_int 1
  virtual_ipaddress {
    192.168.60.${vrid}/24
  }
  ${extra}
}
`;

async function pair(aConf: string) {
  const t = new FakeTimers();
  const wire = new Wire(t);
  const a = new Node(wire, '192.168.60.111');
  const b = new Node(wire, '192.168.60.112');
  const files = new FakeFiles();
  const procs = new FakeProcesses();
  a.engine = await VrrpEngine.start(parse(aConf), a.adapters(), {
    log: a.log,
    keepVipsOnStop: false,
    hooks: { onStateChange: (ev) => void a.changes.push(ev) },
    fileTracker: files,
    processTracker: procs,
  });
  await b.start(inst('VI_1', 51, 100) + inst('VI_2', 52, 100));
  await run(t, 5000, 1);
  return { t, a, b, files, procs };
}

describe('track_file / track_process in the engine', () => {
  const aConf = DEFS + inst('VI_1', 51, 110, 'track_file {\n tf1\n }\n track_process {\n nginx\n }');

  it('a track_file value moves the priority: the peer preempts, value 0 gives MASTER back', async () => {
    const { t, a, b, files } = await pair(aConf);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
    expect(files.configured[0]).toEqual(['tf1']);
    files.set('tf1', 1);
    await run(t, 5000, 1);
    expect(a.lines()).toContain('(VI_1) Changing effective priority from 110 to 90');
    expect([a.state(), b.state()]).toEqual(['BACKUP', 'MASTER']);
    expect(a.engine.trackersOf('VI_1').trackers).toContainEqual(expect.objectContaining({ name: 'file:tf1#0', numeric: true, value: 1 }));
    files.set('tf1', 0);
    await run(t, 5000, 1);
    expect([a.state(), b.state()]).toEqual(['MASTER', 'BACKUP']);
  });

  it('a weight-0 track_process losing its quorum is FAULT with the count in the reason; reload keeps it', async () => {
    const { t, a, b, procs } = await pair(aConf);
    procs.set('nginx', 0);
    await run(t, 100, 1);
    expect(a.state()).toBe('FAULT');
    expect(a.changes.at(-1)).toMatchObject({ to: 'FAULT', reason: 'track_process nginx: 0 processes, quorum 1' });
    await run(t, 4000, 1);
    expect(b.state()).toBe('MASTER');
    const n = a.changes.length;
    await a.engine.reload(parse(aConf));
    await run(t, 1000, 1);
    expect(a.changes.length).toBe(n);
    expect(a.state()).toBe('FAULT');
    // status: the process is listed as not running, with its count
    const input = { name: 'VI_1', vrid: 51, family: 'inet' as const, vips: [], stats: a.engine.stats()['VI_1']!, startedAt: 0, ...a.engine.trackersOf('VI_1') };
    const st = vrrpStatus([input], new Map());
    expect(st.instances[0]!.priorityChanges).toContainEqual({ tracker: 'track_process nginx', delta: null });
    expect(st.trackers).toContainEqual({ kind: 'process', name: 'nginx', result: 'not running (0 processes, quorum 1)' });
    expect(st.trackers).toContainEqual({ kind: 'file', name: 'tf1', result: '0' });
    procs.set('nginx', 2);
    await run(t, 5000, 1);
    expect(a.state()).toBe('MASTER');
  });

  it('a sync group track_file with weight 0 puts every member in FAULT on a non-zero value', async () => {
    const conf = DEFS + inst('VI_1', 51, 110) + inst('VI_2', 52, 110) + 'vrrp_sync_group G {\n group {\n  VI_1\n  VI_2\n }\n track_file {\n  tf1 weight 0\n }\n}\n';
    const { t, a, files } = await pair(conf);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
    files.set('tf1', 3);
    await run(t, 100, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['FAULT', 'FAULT']);
    expect(a.changes.find((c) => c.to === 'FAULT')?.reason).toMatch(/track_file tf1 value 3|sync group/);
    files.set('tf1', 0);
    await run(t, 5000, 1);
    expect([a.state('VI_1'), a.state('VI_2')]).toEqual(['MASTER', 'MASTER']);
  });
});
