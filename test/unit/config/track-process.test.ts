// vrrp_track_process blocks and track_file / track_process in vrrp_instance and vrrp_sync_group
// (keepalived 2.2.7 vrrp_parser.c, vrrp_track.c alloc_track_process, track_file.c vrrp_alloc_track_file).
import { describe, expect, it } from 'vitest';
import { instance, messages, parseText } from './helpers.js';

const TF = 'track_file tf1 {\n file /run/tf1\n weight -3 reverse\n}\n';
const TP = 'vrrp_track_process nginx {\n process nginx\n quorum 2\n weight 10 reverse\n}\n';

describe('vrrp_track_process', () => {
  it('reads process, param_match, quorum, quorum_max, weight, delays and full_command; defaults as keepalived', () => {
    const r = parseText(
      'vrrp_track_process a {\n process /usr/bin/sleep 100000 x\n quorum 1\n quorum_max 3\n delay 0.5\n fork_delay 2\n}\n' +
        'vrrp_track_process b {\n param_match partial\n process sleep 1\n}\n' +
        'vrrp_track_process c {\n process sshd\n}\n' +
        'vrrp_track_process d {\n process x\n full_command\n quorum_max 0\n}\n',
    );
    expect(messages(r)).toEqual([]);
    expect(r.config.vrrpTrackProcesses).toMatchObject([
      { name: 'a', process: '/usr/bin/sleep', params: ['100000', 'x'], paramMatch: 'exact', fullCommand: true, quorum: 1, quorumMax: 3, terminateDelayMs: 500, forkDelayMs: 2000, weight: 0 },
      { name: 'b', process: 'sleep', params: ['1'], paramMatch: 'partial', fullCommand: true },
      { name: 'c', process: 'sshd', params: [], paramMatch: 'none', fullCommand: false, quorum: 1, quorumMax: 4294967295, weight: 0, weightReverse: false, terminateDelayMs: 0, forkDelayMs: 0 },
      { name: 'd', fullCommand: true, quorum: 0, quorumMax: 0 },
    ]);
  });

  it('reports bad values with keepalived 2.2.7 messages', () => {
    const r = parseText(
      'vrrp_track_process a {\n weight 300\n quorum 0\n quorum_max 2\n quorum 3\n param_match exact\n delay 0\n terminate_delay x\n process p\n process q\n}\n' +
        'vrrp_track_process b {\n quorum 2\n quorum_max 1\n weight 5 sideways\n weight 6\n}\n',
    );
    expect(messages(r)).toEqual([
      'Weight (300) for vrrp_track_process a must be between [-254..254] inclusive. Ignoring...',
      'Quorum (0) for vrrp_track_process a must be between [1..65535] inclusive. Ignoring...',
      'Quorum is greater than quorum_max - ignoring',
      'Invalid param_match type exact - ignoring',
      'delay (0) for vrrp_track_process a must be between [0.000001..3600] inclusive. Ignoring...',
      'terminate_delay (x) for vrrp_track_process a must be between [0.000001..3600] inclusive. Ignoring...',
      'Process already set for track process a - ignoring q',
      'quorum_max is less than quorum - ignoring',
      'vrrp_track_process b unknown weight option sideways',
      'Weight already set for track process b - ignoring 6',
      "track process 'b' process name not specified",
    ]);
    expect(r.config.vrrpTrackProcesses?.map((p) => [p.name, p.process, p.quorumMax])).toEqual([['a', 'p', 2]]);
  });
});

describe('track_file / track_process in vrrp_instance', () => {
  it('resolves names against the blocks above, taking their weight unless overridden', () => {
    const r = parseText(TF + TP + instance(' track_file {\n  tf1\n }\n track_process {\n  nginx weight -7 noreverse\n }'));
    expect(messages(r)).toEqual([]);
    const vi = r.config.vrrpInstances[0]!;
    expect(vi.trackFiles).toMatchObject([{ name: 'tf1', weight: -3, reverse: true }]);
    expect(vi.trackProcesses).toMatchObject([{ name: 'nginx', weight: -7, reverse: false }]);
  });

  it('reports unknown names, duplicates and bad options as keepalived does', () => {
    const r = parseText(
      TF + TP +
        instance(
          ' track_file {\n  nope\n  tf1 weight 2 reverse\n  tf1\n }\n track_process {\n  nope\n  nginx weight\n  nginx foo\n  nginx weight 999 bogus\n }',
        ),
    );
    expect(messages(r)).toEqual([
      '(VI_1) track file nope not found, ignoring...',
      '(VI_1) duplicate track_file tf1 - ignoring',
      '(VI_1) track process nope not found, ignoring...',
      '(VI_1) weight without value specified for track process nginx - ignoring',
      '(VI_1) unknown track process option foo - ignoring',
      '(VI_1) weight for track process nginx must be in [-254..254] inclusive. Ignoring...',
      '(VI_1) unknown track_process nginx weight option bogus - ignoring',
    ]);
    const vi = r.config.vrrpInstances[0]!;
    expect(vi.trackFiles).toMatchObject([{ name: 'tf1', weight: 2, reverse: true }]);
    // keepalived keeps the entry with the process's own weight
    expect(vi.trackProcesses).toMatchObject([{ name: 'nginx', weight: 10, reverse: true }]);
  });

  it('a track_file defined after the instance is not found (keepalived resolves while reading)', () => {
    const r = parseText(instance(' track_file {\n  tf1\n }') + TF);
    expect(messages(r)).toEqual(['(VI_1) track file tf1 not found, ignoring...']);
  });
});

describe('track_file / track_process in vrrp_sync_group', () => {
  it('are read with the group name in messages', () => {
    const r = parseText(
      TF + TP + instance('') +
        'vrrp_sync_group G1 {\n group {\n  VI_1\n }\n track_file {\n  tf1 weight 0\n  tf9\n }\n track_process {\n  nginx\n }\n}\n',
    );
    expect(messages(r)).toEqual(['(G1) track file tf9 not found, ignoring...']);
    const g = r.config.vrrpSyncGroups[0]!;
    expect(g.trackFiles).toMatchObject([{ name: 'tf1', weight: 0, reverse: true }]);
    expect(g.trackProcesses).toMatchObject([{ name: 'nginx', weight: 10, reverse: true }]);
  });
});
