import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_DUMP_FILES, dumpFilePath, redactSecrets, renderDataDump, renderJsonDump, renderStats, writeDump, writeDumpFile,
} from '../../../src/daemon/process/dump.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'lko-dump-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dump files', () => {
  it('default to lvskeeper names in /tmp, never keepalived\'s', () => {
    expect(DEFAULT_DUMP_FILES).toEqual({ data: '/tmp/lvskeeper.data', stats: '/tmp/lvskeeper.stats', json: '/tmp/lvskeeper.json' });
    expect(dumpFilePath('data')).toBe('/tmp/lvskeeper.data');
  });

  it('honour state/stats/json_file_location: a file, or a directory', () => {
    const sub = join(dir, 'd');
    mkdirSync(sub);
    expect(dumpFilePath('data', { stateFileLocation: join(dir, 'x.data') })).toBe(join(dir, 'x.data'));
    expect(dumpFilePath('stats', { statsFileLocation: sub })).toBe(join(sub, 'lvskeeper.stats'));
    expect(dumpFilePath('json', { jsonFileLocation: '/var/tmp/' })).toBe('/var/tmp/lvskeeper.json');
    expect(dumpFilePath('json', { stateFileLocation: '/elsewhere' })).toBe('/tmp/lvskeeper.json');
  });

  it('are written with mode 0600 even over a world-readable file, atomically, without temp leftovers', () => {
    const f = join(dir, 'lvskeeper.data');
    writeFileSync(f, 'old');
    chmodSync(f, 0o644);
    writeDumpFile(f, 'new content\n');
    expect(readFileSync(f, 'utf8')).toBe('new content\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('replace a planted symlink instead of writing through it', () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'precious');
    const link = join(dir, 'link.json');
    symlinkSync(target, link);
    writeDumpFile(link, '{}\n');
    expect(readFileSync(target, 'utf8')).toBe('precious');
    expect(readFileSync(link, 'utf8')).toBe('{}\n');
  });

  it('always redact auth_pass, in JSON and in text dumps', () => {
    const state = { instances: [{ name: 'VI_1', authentication: { type: 'PASS', password: 's3cr3t!' } }] };
    const json = renderJsonDump(state);
    expect(json).not.toContain('s3cr3t');
    expect(JSON.parse(json).instances[0].authentication).toEqual({ type: 'PASS', password: '<redacted>' });
    expect(state.instances[0]!.authentication.password).toBe('s3cr3t!'); // the input is not modified
    const text = renderDataDump(
      [
        { title: 'VRRP Topology', body: { 'VRRP Instance': 'VI_1', Authentication: { type: 'PASS', password: 's3cr3t!' } } },
        { title: 'Config', body: ['authentication {', '  auth_type PASS', '  auth_pass s3cr3t!', '}'] },
      ],
      'header',
    );
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain('------< VRRP Topology >------');
    expect(text).toContain(' VRRP Instance = VI_1');
    expect(text).toContain('  password = <redacted>');
    expect(text).toContain(' auth_pass <redacted>');
    const path = writeDump('data', 'auth_pass "two words"\n', { stateFileLocation: join(dir, 'w.data') });
    expect(readFileSync(path, 'utf8')).toBe('auth_pass <redacted>\n');
    expect(redactSecrets({ a: { authPass: 'x' } })).toEqual({ a: { authPass: '<redacted>' } });
  });

  it('render stats in keepalived\'s layout', () => {
    const s = renderStats([{ instance: 'VI_1', advertRcvd: 3, advertSent: 12, becomeMaster: 1, releaseMaster: 0, packetLenErr: 0, ipTtlErr: 0, invalidTypeRcvd: 0, advertIntervalErr: 0, addrListErr: 0, invalidAuthType: 0, authTypeMismatch: 0, authFailure: 2, priZeroRcvd: 0, priZeroSent: 1 }]);
    expect(s.split('\n').slice(0, 6)).toEqual(['VRRP Instance: VI_1', '  Advertisements:', '    Received: 3', '    Sent: 12', '  Became master: 1', '  Released master: 0']);
    expect(s).toContain('  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 2\n');
    expect(s.endsWith('  Priority Zero:\n    Received: 0\n    Sent: 1\n')).toBe(true);
    expect(existsSync(dir)).toBe(true);
  });
});
