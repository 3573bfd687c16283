import { describe, expect, it } from 'vitest';
import { encodeAdvert, VRRP_AUTH_PASS } from '../../../src/vrrp/packet.js';
import { DropCounters, validateAdvert, type ValidationConfig } from '../../../src/vrrp/validate.js';

const v2cfg: ValidationConfig = {
  name: 'VI_1',
  version: 2,
  family: 'inet',
  vrid: 51,
  authType: VRRP_AUTH_PASS,
  authPassword: 'secret',
  advertIntCs: 100,
  unicast: false,
  addresses: ['192.168.60.200'],
};
const good2 = (over: Partial<Parameters<typeof encodeAdvert>[0]> = {}): Buffer =>
  encodeAdvert({ version: 2, family: 'inet', vrid: 51, priority: 100, advertIntCs: 100, addresses: ['192.168.60.200'], authType: 1, authPassword: 'secret', ...over });
const rx = (payload: Buffer, ttl: number | undefined = 255, destination = '224.0.0.18') => ({ payload, source: '192.168.60.112', destination, ttl });

describe('validateAdvert v2 (keepalived vrrp_check_packet order)', () => {
  it('accepts a good advert', () => {
    expect(validateAdvert(rx(good2()), v2cfg)).toMatchObject({ ok: true, advisories: [] });
  });
  it('accepts Ethernet padding', () => {
    expect(validateAdvert(rx(Buffer.concat([good2(), Buffer.alloc(26)])), v2cfg).ok).toBe(true);
  });
  const cases: [string, Buffer, number | undefined, string][] = [
    ['too-short', Buffer.from([0x21, 51, 100]), 255, 'ip/vrrp header too short'],
    ['truncated', good2().subarray(0, 19), 255, 'too short'],
    ['ttl', good2(), 254, 'invalid TTL/HL. Received 254 and expect 255'],
    ['version', encodeAdvert({ version: 3, family: 'inet', vrid: 51, priority: 100, advertIntCs: 100, addresses: ['192.168.60.200'] }, { v3ChecksumAsV2: true }), 255, 'wrong version'],
    ['auth-type', good2({ authType: 0 }), 255, 'received a 0 auth, expecting 1!'],
    ['auth-pass', good2({ authPassword: 'secreT' }), 255, 'received an invalid passwd!'],
    ['interval', good2({ advertIntCs: 200 }), 255, "advertisement interval mismatch mine=1 sec rcv'd=2 sec"],
    ['vrid', good2({ vrid: 52 }), 255, 'VRID 52'],
  ];
  for (const [reason, payload, ttl, phrase] of cases) {
    it(`drops ${reason}`, () => {
      const r = validateAdvert(rx(payload, ttl), v2cfg);
      expect(r).toMatchObject({ ok: false, reason });
      expect(!r.ok && r.message).toContain(phrase);
    });
  }
  it('drops a wrong type', () => {
    const p = good2();
    p[0] = 0x22;
    const r = validateAdvert(rx(p), v2cfg);
    // The checksum is now also wrong; type comes first.
    expect(r).toMatchObject({ ok: false, reason: 'type' });
  });
  it('drops a bad checksum', () => {
    const p = good2();
    p[7] = p[7]! ^ 0xff;
    expect(validateAdvert(rx(p), v2cfg)).toMatchObject({ ok: false, reason: 'checksum' });
  });
  it('compares the password over all 8 bytes', () => {
    const p = good2({ authPassword: Buffer.from('secret\0X') });
    expect(validateAdvert(rx(p), v2cfg)).toMatchObject({ ok: false, reason: 'auth-pass' });
    expect(validateAdvert(rx(good2({ authPassword: 'secret_and_more' })), { ...v2cfg, authPassword: 'secret_a' }).ok).toBe(true);
  });
  it('reports the first failing check: TTL before auth before interval', () => {
    expect(validateAdvert(rx(good2({ authPassword: 'x', advertIntCs: 300 }), 1), v2cfg)).toMatchObject({ reason: 'ttl' });
    expect(validateAdvert(rx(good2({ authPassword: 'x', advertIntCs: 300 })), v2cfg)).toMatchObject({ reason: 'auth-pass' });
  });
  it('skips the TTL check in unicast mode and checks the destination mode', () => {
    expect(validateAdvert(rx(good2(), 60, '192.168.60.111'), { ...v2cfg, unicast: true }).ok).toBe(true);
    expect(validateAdvert(rx(good2(), 255, '192.168.60.111'), v2cfg)).toMatchObject({ reason: 'destination' });
    expect(validateAdvert(rx(good2(), 255, '224.0.0.18'), { ...v2cfg, unicast: true })).toMatchObject({ reason: 'destination' });
  });
  it('skips the TTL check when the transport could not see it', () => {
    expect(validateAdvert(rx(good2(), undefined), v2cfg).ok).toBe(true);
  });
  it('check_unicast_src', () => {
    const cfg = { ...v2cfg, unicast: true, checkUnicastSrc: true, unicastPeers: ['192.168.60.113'] };
    expect(validateAdvert(rx(good2(), 255, '192.168.60.111'), cfg)).toMatchObject({ reason: 'unknown-peer' });
    expect(validateAdvert(rx(good2(), 255, '192.168.60.111'), { ...cfg, unicastPeers: ['192.168.60.112'] }).ok).toBe(true);
  });
  it('unicast_peer min_ttl / max_ttl, checked with check_unicast_src as keepalived does', () => {
    const ttl = new Map([['192.168.60.112', { min: 250, max: 255 }]]);
    const cfg = { ...v2cfg, unicast: true, checkUnicastSrc: true, unicastPeers: ['192.168.60.112'], unicastPeerTtl: ttl };
    expect(validateAdvert(rx(good2(), 254, '192.168.60.111'), cfg).ok).toBe(true);
    expect(validateAdvert(rx(good2(), 64, '192.168.60.111'), cfg)).toMatchObject({ reason: 'ttl', message: expect.stringContaining('TTL/HL 64 not in range 250 - 255') as unknown });
    // Without check_unicast_src keepalived does not look at the peer's range.
    expect(validateAdvert(rx(good2(), 64, '192.168.60.111'), { ...cfg, checkUnicastSrc: false }).ok).toBe(true);
  });
  it('old_unicast_checksum: the group in the v3 pseudo-header is learned (default), used (old) or refused (never)', () => {
    const v3u: ValidationConfig = { ...v2cfg, version: 3, authType: 0, authPassword: undefined, unicast: true };
    const adv = (dest: string) =>
      encodeAdvert({ version: 3, family: 'inet', vrid: 51, priority: 100, advertIntCs: 100, addresses: ['192.168.60.200'] }, { source: '192.168.60.112', destination: dest });
    const peerDest = '192.168.60.111';
    const oldStyle = rx(adv('224.0.0.18'), 255, peerDest);
    const newStyle = rx(adv(peerDest), 255, peerDest);
    expect(validateAdvert(newStyle, v3u)).toMatchObject({ ok: true });
    expect(validateAdvert(newStyle, v3u)).not.toHaveProperty('oldUnicastChecksum');
    expect(validateAdvert(oldStyle, v3u)).toMatchObject({ ok: true, oldUnicastChecksum: true });
    expect(validateAdvert(oldStyle, v3u, { unicastChecksum: 'old' })).toMatchObject({ ok: true });
    expect(validateAdvert(oldStyle, v3u, { unicastChecksum: 'never' })).toMatchObject({ ok: false, reason: 'checksum' });
    expect(validateAdvert(newStyle, v3u, { unicastChecksum: 'old' })).toMatchObject({ ok: false, reason: 'checksum' });
  });
  it('address count and list mismatches only log', () => {
    const r1 = validateAdvert(rx(good2({ addresses: ['192.168.60.200', '192.168.60.201'] })), v2cfg);
    expect(r1).toMatchObject({ ok: true, advisories: [{ reason: 'address-count' }] });
    const r2 = validateAdvert(rx(good2({ addresses: ['192.168.60.201'] })), v2cfg);
    expect(r2).toMatchObject({ ok: true, advisories: [{ reason: 'address-list' }] });
    expect(validateAdvert(rx(good2({ addresses: ['192.168.60.201'] })), { ...v2cfg, skipCheckAdvAddr: true })).toMatchObject({ ok: true, advisories: [] });
  });
});

describe('validateAdvert v3', () => {
  const v3cfg: ValidationConfig = { name: 'VI_6', version: 3, family: 'inet6', vrid: 7, authType: 0, advertIntCs: 10, unicast: false, addresses: ['fe80::200'] };
  const pkt = (src: string, over: Partial<Parameters<typeof encodeAdvert>[0]> = {}) =>
    encodeAdvert({ version: 3, family: 'inet6', vrid: 7, priority: 100, advertIntCs: 10, addresses: ['fe80::200'], ...over }, { source: src, destination: 'ff02::12' });
  it('checks the IPv6 pseudo-header checksum with the group as destination', () => {
    expect(validateAdvert({ payload: pkt('fe80::2'), source: 'fe80::2' }, v3cfg).ok).toBe(true);
    expect(validateAdvert({ payload: pkt('fe80::3'), source: 'fe80::2' }, v3cfg)).toMatchObject({ reason: 'checksum' });
  });
  it('only logs an interval mismatch (backups adopt the master interval)', () => {
    expect(validateAdvert({ payload: pkt('fe80::2', { advertIntCs: 100 }), source: 'fe80::2' }, v3cfg)).toMatchObject({ ok: true, advisories: [{ reason: 'v3-interval' }] });
  });
  it('hop limit 254 is dropped', () => {
    expect(validateAdvert({ payload: pkt('fe80::2'), source: 'fe80::2', ttl: 254 }, v3cfg)).toMatchObject({ reason: 'ttl' });
  });
  it('v3 over IPv4 uses the real destination in unicast', () => {
    const cfg: ValidationConfig = { ...v3cfg, family: 'inet', unicast: true, addresses: ['10.0.0.100'] };
    const p = encodeAdvert({ version: 3, family: 'inet', vrid: 7, priority: 100, advertIntCs: 10, addresses: ['10.0.0.100'] }, { source: '10.0.0.2', destination: '10.0.0.1' });
    expect(validateAdvert({ payload: p, source: '10.0.0.2', destination: '10.0.0.1', ttl: 64 }, cfg).ok).toBe(true);
    expect(validateAdvert({ payload: p, source: '10.0.0.2', destination: '10.0.0.9', ttl: 64 }, cfg)).toMatchObject({ reason: 'checksum' });
  });
});

describe('DropCounters', () => {
  it('counts every drop and rate-limits the log with the peer', () => {
    const c = new DropCounters(10_000);
    expect(c.record('auth-pass', '(VI_1) received an invalid passwd!', '10.0.0.2', 0)).toBe('(VI_1) received an invalid passwd! (from 10.0.0.2)');
    expect(c.record('auth-pass', 'x', '10.0.0.2', 5000)).toBeUndefined();
    expect(c.record('ttl', '(VI_1) ttl', '10.0.0.3', 5000)).toContain('from 10.0.0.3');
    expect(c.record('auth-pass', '(VI_1) received an invalid passwd!', '10.0.0.2', 10_000)).toBe('(VI_1) received an invalid passwd! (from 10.0.0.2, 1 more suppressed)');
    expect(c.get('auth-pass')).toBe(3);
    expect(c.total()).toBe(4);
    expect(c.toJSON()).toEqual({ 'auth-pass': 3, ttl: 1 });
    c.clear();
    expect(c.total()).toBe(0);
  });
});
