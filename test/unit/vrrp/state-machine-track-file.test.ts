// track_file as a numeric tracker (keepalived 2.2.7 track_file.c process_update_vrrp_track_file_status,
// vrrp_track.c initialise_vrrp_file_tracking_priorities) and track_process as a boolean one.
import { describe, expect, it } from 'vitest';
import { effectivePriority, fileDelta, initialState, machineConfig, ownFault, type MachineConfig, type TrackerSpec } from '../../../src/vrrp/state-machine.js';
import { Sim } from './harness.js';

const file = (weight: number, reverse = false): TrackerSpec => ({ name: 'file:tf1#0', weight, reverse, numeric: true });
const base = (trackers: TrackerSpec[], over: Partial<MachineConfig> = {}) =>
  machineConfig({ name: 'VI_1', version: 2, family: 'inet', basePriority: 100, advertIntCs: 100, sourceAddress: '10.0.0.1', trackers, ...over });

describe('fileDelta', () => {
  it('weight 0: a non-zero value is FAULT (reverse: a zero value)', () => {
    expect(fileDelta({ weight: 0 }, 0)).toBe(0);
    expect(fileDelta({ weight: 0 }, 3)).toBeNull();
    expect(fileDelta({ weight: 0 }, -1)).toBeNull();
    expect(fileDelta({ weight: 0, reverse: true }, 0)).toBeNull();
    expect(fileDelta({ weight: 0, reverse: true }, 7)).toBe(0);
  });
  it('weighted: value × weight, negated by reverse, capped at 253, FAULT at -254 or below', () => {
    expect(fileDelta({ weight: 10 }, 3)).toBe(30);
    expect(fileDelta({ weight: 10, reverse: true }, 3)).toBe(-30);
    expect(fileDelta({ weight: -5 }, 2)).toBe(-10);
    expect(fileDelta({ weight: 1 }, 1000)).toBe(253);
    expect(fileDelta({ weight: 1 }, -253)).toBe(-253);
    expect(fileDelta({ weight: 1 }, -254)).toBeNull();
    expect(fileDelta({ weight: 2, reverse: true }, 127)).toBeNull();
  });
});

describe('track_file in the machine', () => {
  it('the value moves the effective priority (clamped 1..254)', () => {
    const cfg = base([file(-20)]);
    expect(effectivePriority(cfg, initialState(cfg, { 'file:tf1#0': 0 }))).toBe(100);
    expect(effectivePriority(cfg, initialState(cfg, { 'file:tf1#0': 2 }))).toBe(60);
    expect(effectivePriority(cfg, initialState(cfg, { 'file:tf1#0': 6 }))).toBe(1);
    expect(effectivePriority(cfg, initialState(cfg, { 'file:tf1#0': -9 }))).toBe(254);
    // a missing value reads as 0
    expect(effectivePriority(cfg, initialState(cfg))).toBe(100);
  });

  it('a MASTER advertises the lowered priority; a value at -254 is FAULT with the value as the reason', () => {
    const s = new Sim(base([file(-1)], { wantMaster: true }));
    s.event({ type: 'start' });
    s.advance(4000);
    expect(s.state.state).toBe('MASTER');
    let a = s.event({ type: 'tracker', name: 'file:tf1#0', up: 30 });
    expect(a).toContainEqual({ type: 'priorityChanged', from: 100, to: 70 });
    expect(s.state.state).toBe('MASTER');
    a = s.event({ type: 'tracker', name: 'file:tf1#0', up: 254 });
    expect(s.state.state).toBe('FAULT');
    expect(a).toContainEqual({ type: 'transition', from: 'MASTER', to: 'FAULT', reason: 'track_file tf1 value 254' });
    expect(a).toContainEqual({ type: 'sendAdvert', priority: 0 });
    a = s.event({ type: 'tracker', name: 'file:tf1#0', up: 0 });
    expect(s.state.state).toBe('BACKUP');
    expect(s.state.effectivePriority).toBe(100);
  });

  it('weight 0: a non-zero value puts the instance in FAULT at start and while it lasts', () => {
    const cfg = base([file(0)]);
    expect(ownFault(cfg, initialState(cfg, { 'file:tf1#0': 1 }))).toBe(true);
    const s = new Sim(cfg, { 'file:tf1#0': 0 } as never);
    s.event({ type: 'start' });
    expect(s.state.state).toBe('BACKUP');
    const a = s.event({ type: 'tracker', name: 'file:tf1#0', up: 5 });
    expect(a).toContainEqual({ type: 'transition', from: 'BACKUP', to: 'FAULT', reason: 'track_file tf1 value 5' });
    s.event({ type: 'tracker', name: 'file:tf1#0', up: 0 });
    expect(s.state.state).toBe('BACKUP');
  });
});

describe('track_process in the machine (a boolean tracker)', () => {
  it('weight 0: losing the quorum is FAULT, the reason carries the count', () => {
    const s = new Sim(base([{ name: 'process:nginx#0', weight: 0 }], { wantMaster: true }));
    s.event({ type: 'start' });
    s.advance(4000);
    const a = s.event({ type: 'tracker', name: 'process:nginx#0', up: false, detail: '0 processes, quorum 1' });
    expect(a).toContainEqual({ type: 'transition', from: 'MASTER', to: 'FAULT', reason: 'track_process nginx: 0 processes, quorum 1' });
    s.event({ type: 'tracker', name: 'process:nginx#0', up: true, detail: '1 process, quorum 1' });
    expect(s.state.state).toBe('BACKUP');
  });
  it('weighted: like track_script (positive weight while up, negative while down)', () => {
    const cfg = base([{ name: 'process:a#0', weight: 10 }, { name: 'process:b#0', weight: -15 }]);
    expect(effectivePriority(cfg, initialState(cfg, { 'process:a#0': true, 'process:b#0': true }))).toBe(110);
    expect(effectivePriority(cfg, initialState(cfg, { 'process:a#0': false, 'process:b#0': false }))).toBe(85);
  });
});
