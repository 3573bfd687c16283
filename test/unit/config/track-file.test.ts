// Top-level track_file / vrrp_track_file blocks (keepalived's track_file.c): parsed with 2.2.7's messages,
// used by FILE_CHECK, and init_file applied at load.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSpecsFromConfig } from '../../../src/check/from-config.js';
import { initTrackFiles } from '../../../src/daemon/config-load.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { messages, parseText } from './helpers.js';

const fileCheckVs = (trackFile: string) =>
  `virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n real_server 10.0.0.2 80 {\n  FILE_CHECK {\n   track_file ${trackFile}\n  }\n }\n}\n`;

describe('track_file', () => {
  it('reads file, weight [reverse] and init_file [VALUE] [overwrite]; vrrp_track_file is the same block', () => {
    const r = parseText('track_file tf1 {\n file /run/tf1\n weight -5 reverse\n init_file 3 overwrite\n}\nvrrp_track_file tf2 {\n file /run/tf2\n init_file\n}\n');
    expect(messages(r)).toEqual([]);
    expect(r.config.trackFiles).toMatchObject([
      { name: 'tf1', path: '/run/tf1', weight: -5, weightReverse: true, initFile: { value: 3, overwrite: true } },
      { name: 'tf2', path: '/run/tf2', weight: 1, weightReverse: false, initFile: { value: 0, overwrite: false } },
    ]);
  });

  it("reports keepalived 2.2.7's messages, at keepalived's lines", () => {
    const r = parseText(`track_file tf2 {\n weight 300\n}\ntrack_file tf3 {\n file /x\n bogus 1\n}\n${fileCheckVs('nope')}`);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}: ${d.message}`)).toEqual([
      "2: number '300' outside range [-254, 254]",
      '2: Weight (300) for track_file tf2 must be between [-254..254] inclusive. Ignoring...',
      '3: No file set for track_file tf2 - ignoring',
      "6: Unknown keyword 'bogus'",
      '14: track_file nope not found',
      '15: FILE_CHECK has no track_file specified - ignoring',
    ]);
    expect(r.config.trackFiles.map((t) => t.name)).toEqual(['tf3']);
    expect(r.config.virtualServers[0]!.realServers[0]!.checkers).toEqual([]);
  });

  it('FILE_CHECK gets the path and weight of the named track_file', () => {
    const r = parseText(`track_file tf1 {\n file /run/tf1\n weight 3\n}\n${fileCheckVs('tf1')}`);
    expect(messages(r)).toEqual([]);
    const { virtualServers, warnings } = checkSpecsFromConfig(r.config);
    expect(warnings).toEqual([]);
    expect(virtualServers[0]!.realServers[0]!.checkers[0]!.probe).toMatchObject({ type: 'FILE_CHECK', path: '/run/tf1', weight: 3, reverse: false });
  });

  it('init_file writes a missing file, and an existing one only with overwrite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lk-tf-'));
    const keep = join(dir, 'keep');
    const over = join(dir, 'over');
    const fresh = join(dir, 'fresh');
    writeFileSync(keep, '7\n');
    writeFileSync(over, '7\n');
    const log = createMemoryLogger();
    const at = { file: 'x', line: 1 };
    initTrackFiles(
      [
        { name: 'a', path: keep, weight: 1, weightReverse: false, initFile: { value: 2, overwrite: false }, location: at },
        { name: 'b', path: over, weight: 1, weightReverse: false, initFile: { value: 2, overwrite: true }, location: at },
        { name: 'c', path: fresh, weight: 1, weightReverse: false, initFile: { value: 0, overwrite: false }, location: at },
        { name: 'd', path: join(dir, 'missing-dir', 'f'), weight: 1, weightReverse: false, initFile: { value: 1, overwrite: false }, location: at },
      ],
      log,
    );
    expect(readFileSync(keep, 'utf8')).toBe('7\n');
    expect(readFileSync(over, 'utf8')).toBe('2\n');
    expect(readFileSync(fresh, 'utf8')).toBe('0\n');
    expect(log.lines.map((l) => l.msg)).toEqual([expect.stringMatching(/^track_file d: cannot initialise .*missing-dir\/f: ENOENT/)]);
  });
});
