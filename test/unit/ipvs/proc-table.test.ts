import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { joinProcTable, parseProcTable, ProcFileReader } from '../../../src/ipvs/proc-table.js';
import type { Service } from '../../../src/ipvs/types.js';

// Lines as ip_vs_info_seq_show() prints them (trailing blanks included: "%-10d\n" pads the last column).
const TABLE = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
  'TCP  0A640001:0050 wrr  ',
  '  -> AC10000B:1F90      Masq    2      0          0         ',
  '  -> AC10000A:1F90      Route   1      3          -1        ', // atomic_t printed with %d
  'UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035 rr persistent 300 FFFFFFFF',
  '  -> [fd00:0000:0000:0000:0000:0000:0000:0002]:0035      Tunnel  -5     1          2         ',
  'FWM  00000007 sh ops ',
  '',
].join('\n');

const svc = (key: Service['key']): Service => ({ key, scheduler: 'x', flags: 0, timeout: 0, netmask: '0.0.0.0' });
const SERVICES: Service[] = [
  svc({ kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.100.0.1', port: 80 }),
  svc({ kind: 'addr', family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53 }),
  svc({ kind: 'fwmark', family: 'inet', fwmark: 7 }),
];

describe('/proc/net/ip_vs', () => {
  it('parses the version header, service keys and destinations in kernel order', () => {
    const t = parseProcTable(TABLE)!;
    expect(t.info).toEqual({ version: 0x010201, connTableSize: 4096 });
    expect(t.services.map((s) => s.key)).toEqual([
      { kind: 'addr', protocol: 'TCP', family: 'inet', address: '10.100.0.1', port: 80 },
      { kind: 'addr', protocol: 'UDP', family: 'inet6', address: '2001:db8::1', port: 53 },
      { kind: 'fwmark', fwmark: 7 },
    ]);
    expect(t.services[0]!.destinations).toEqual([
      { family: 'inet', address: '172.16.0.11', addressWord: 0xac10000b | 0, port: 8080, forward: 'masq', weight: 2, upperThreshold: 0, lowerThreshold: 0, activeConns: 0, inactiveConns: 0 },
      { family: 'inet', address: '172.16.0.10', addressWord: 0xac10000a | 0, port: 8080, forward: 'route', weight: 1, upperThreshold: 0, lowerThreshold: 0, activeConns: 3, inactiveConns: 4294967295 },
    ]);
    expect(t.services[1]!.destinations[0]).toMatchObject({ family: 'inet6', address: 'fd00::2', port: 53, forward: 'tunnel', weight: -5 });
    expect(t.services[2]!.destinations).toEqual([]);
  });

  it('parses an empty table and a file without a final newline', () => {
    expect(parseProcTable(TABLE.split('\n').slice(0, 3).join('\n') + '\n')!.services).toEqual([]);
    expect(parseProcTable(TABLE.trimEnd())!.services[2]!.key).toEqual({ kind: 'fwmark', fwmark: 7 });
  });

  it.each([
    ['another header', TABLE.replace('IP Virtual Server version', 'IPVS version')],
    ['an unknown forwarding method', TABLE.replace('Masq ', 'Bogus')],
    ['a short address', TABLE.replace('AC10000B:1F90', 'AC1000B:1F90')],
    ['an extra column', TABLE.replace('-1        ', '-1 7')],
    ['a destination before any service', TABLE.replace('TCP  0A640001:0050 wrr  \n', '')],
    ['a missing weight', TABLE.replace('Masq    2      0', 'Masq    x      0')],
    ['a bad IPv6 address', TABLE.replace('[fd00:', '[fd00::')],
  ])('rejects %s', (_what, text) => {
    expect(parseProcTable(text)).toBeUndefined();
  });

  it('joins GET_SERVICE services to their destinations by position, checking each key', () => {
    const t = parseProcTable(TABLE)!;
    const joined = joinProcTable(SERVICES, t)!;
    expect(joined.map((e) => e.service)).toEqual(SERVICES);
    expect(joined.map((e) => e.destinations.length)).toEqual([2, 1, 0]);
  });

  it('refuses a join when the table changed between the two reads', () => {
    const t = parseProcTable(TABLE)!;
    expect(joinProcTable(SERVICES.slice(1), t)).toBeUndefined();
    expect(joinProcTable([SERVICES[1]!, SERVICES[0]!, SERVICES[2]!], t)).toBeUndefined();
    const otherPort = svc({ kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.100.0.1', port: 81 });
    expect(joinProcTable([otherPort, SERVICES[1]!, SERVICES[2]!], t)).toBeUndefined();
    const udp = svc({ kind: 'addr', family: 'inet', protocol: 'udp', address: '10.100.0.1', port: 80 });
    expect(joinProcTable([udp, SERVICES[1]!, SERVICES[2]!], t)).toBeUndefined();
    const otherMark = svc({ kind: 'fwmark', family: 'inet', fwmark: 8 });
    expect(joinProcTable([SERVICES[0]!, SERVICES[1]!, otherMark], t)).toBeUndefined();
  });
});

describe('ProcFileReader', () => {
  it('reads a file whole, past its first 1 MiB, as latin1: at once, or after reading in the background', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'proc-read-'));
    try {
      const file = join(dir, 'table');
      const bytes = Buffer.alloc(2.5 * 2 ** 20 + 7);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
      writeFileSync(file, bytes);
      expect(await ProcFileReader.start(file).text()).toBe(bytes.toString('latin1'));
      const background = ProcFileReader.start(file);
      await new Promise((r) => setTimeout(r, 50));
      expect(await background.text()).toBe(bytes.toString('latin1'));
      writeFileSync(file, '');
      expect(await ProcFileReader.start(file).text()).toBe('');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reads a /proc file, whose size is unknown, to its end', async () => {
    const text = await ProcFileReader.start('/proc/self/limits').text();
    expect(text.length).toBeGreaterThan(0);
    expect(text).toBe(readFileSync('/proc/self/limits', 'latin1'));
  });

  it('throws the error of a missing file at start', () => {
    expect(() => ProcFileReader.start('/nonexistent/ip_vs')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
