// `lvsadm -Ln` straight from /proc/net/ip_vs's columns (listAllFromColumns) must print exactly what the
// general path prints (parseProcTable + joinProcTable + listAllText, held to ipvsadm by the golden and VM
// tests), for any table; and it must step aside when it cannot (IPv6 destinations, negative counts, a
// service list that no longer matches the file).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listAllFromColumns, listAllText, NUMERIC_ONLY } from '../../../src/cli/lvsadm/format.js';
import { NO_FORMAT } from '../../../src/cli/lvsadm/options.js';
import { joinProcTable, parseProcTable, scanProcColumns } from '../../../src/ipvs/proc-table.js';
import type { Service } from '../../../src/ipvs/types.js';

const FORMAT = { ...NO_FORMAT, numeric: true };
const hex = (n: number, width: number): string => (n >>> 0).toString(16).toUpperCase().padStart(width, '0');
const quad = (w: number): string => `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
const HEAD = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';

interface Dest {
  word: number;
  port: number;
  fwd: 'Masq' | 'Route' | 'Tunnel' | 'Local';
  weight: number;
  active: number;
  inactive: number;
}
interface Svc {
  service: Service;
  line: string;
  dests: Dest[];
}

/** ip_vs_info_seq_show()'s destination line. */
const destLine = (d: Dest): string =>
  `  -> ${hex(d.word, 8)}:${hex(d.port, 4)}      ${d.fwd.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.active).padEnd(10)} ${String(d.inactive).padEnd(10)}\n`;

function procText(services: readonly Svc[]): string {
  return HEAD + services.map((s) => s.line + s.dests.map(destLine).join('')).join('');
}

// Few distinct values, so that equal addresses (ties on the port) and far-apart ones (ipvsadm's
// wrapping comparator) both occur.
const word = fc.constantFrom(0x0a000001, 0x0a000002, 0xc0a80101, 0xac10000a, 0xfffffffe, 0x00000001, 0x7fffffff, 0x80000000);
const dest = fc.record({
  word,
  port: fc.constantFrom(0, 80, 8080, 65535),
  fwd: fc.constantFrom('Masq' as const, 'Route' as const, 'Tunnel' as const, 'Local' as const),
  weight: fc.nat({ max: 70000 }),
  active: fc.nat({ max: 2 ** 31 - 1 }),
  inactive: fc.nat(),
});
const svcArb: fc.Arbitrary<Svc> = fc.oneof(
  fc
    .record({ word, port: fc.constantFrom(80, 443, 53), proto: fc.constantFrom('tcp' as const, 'udp' as const), persistent: fc.boolean(), dests: fc.array(dest, { maxLength: 12 }) })
    .map(
      (r): Svc => ({
        service: {
          key: { kind: 'addr', family: 'inet', protocol: r.proto, address: quad(r.word), port: r.port },
          scheduler: 'wrr',
          flags: r.persistent ? 1 : 0,
          timeout: 300,
          netmask: '255.255.255.255',
        },
        line: `${r.proto.toUpperCase()}  ${hex(r.word, 8)}:${hex(r.port, 4)} wrr ${r.persistent ? 'persistent 300 FFFFFFFF' : ''}\n`,
        dests: r.dests,
      }),
    ),
  fc.record({ mark: fc.integer({ min: 1, max: 2 ** 32 - 1 }), dests: fc.array(dest, { maxLength: 12 }) }).map(
    (r): Svc => ({
      service: { key: { kind: 'fwmark', family: 'inet', fwmark: r.mark }, scheduler: 'sh', flags: 0x8, timeout: 0, netmask: '255.255.255.255' },
      line: `FWM  ${hex(r.mark, 8)} sh \n`,
      dests: r.dests,
    }),
  ),
  fc.array(dest, { maxLength: 4 }).map(
    (dests): Svc => ({
      service: { key: { kind: 'addr', family: 'inet6', protocol: 'tcp', address: '2001:db8::1', port: 80 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '128' },
      line: 'TCP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0050 rr \n',
      dests,
    }),
  ),
);

function generalPath(text: string, services: readonly Service[]): string {
  const table = parseProcTable(text)!;
  return listAllText(table.info, joinProcTable(services, table)!, FORMAT, NUMERIC_ONLY);
}

describe('listAllFromColumns', () => {
  it('prints what the general path prints, for random tables (ipvsadm order, padding, counters)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(svcArb, { maxLength: 25, selector: (s) => JSON.stringify(s.service.key) }), (svcs) => {
        const text = procText(svcs);
        const services = svcs.map((s) => s.service);
        const columns = scanProcColumns(text);
        expect(columns).toBeDefined();
        expect(listAllFromColumns(columns!, services, FORMAT)).toBe(generalPath(text, services));
      }),
      { numRuns: 300 },
    );
  });

  it('a known table, in ipvsadm order', () => {
    const text = `${HEAD}TCP  0A640001:0050 wrr \n${destLine({ word: 0x0a000001, port: 80, fwd: 'Masq', weight: 2, active: 3, inactive: 0 })}${destLine({ word: 0xc0a80101, port: 80, fwd: 'Route', weight: 1, active: 0, inactive: 7 })}`;
    const services: Service[] = [{ key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.100.0.1', port: 80 }, scheduler: 'wrr', flags: 0, timeout: 0, netmask: '255.255.255.255' }];
    expect(listAllFromColumns(scanProcColumns(text)!, services, FORMAT)).toBe(
      [
        'IP Virtual Server version 1.2.1 (size=4096)',
        'Prot LocalAddress:Port Scheduler Flags',
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
        'TCP  10.100.0.1:80 wrr',
        // ipvsadm's comparator subtracts the addresses into an int: 192.168.1.1 - 10.0.0.1 wraps negative
        '  -> 192.168.1.1:80               Route   1      0          7         ',
        '  -> 10.0.0.1:80                  Masq    2      3          0         ',
        '',
      ].join('\n'),
    );
  });

  it('steps aside for IPv6 destinations, negative counts, another layout, or services that changed', () => {
    const services: Service[] = [{ key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.100.0.1', port: 80 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' }];
    const svcLine = 'TCP  0A640001:0050 rr \n';
    expect(scanProcColumns(`${HEAD}${svcLine}  -> [fd00:0000:0000:0000:0000:0000:0000:0002]:0050      Route   1      0          0         \n`)).toBeUndefined();
    expect(scanProcColumns(`${HEAD}${svcLine}  -> 0A000001:0050      Route   1      -1         0         \n`)).toBeUndefined();
    expect(scanProcColumns(`${HEAD}${svcLine}  -> 0A000001:0050 Route 1 0 0\n`)).toBeUndefined();
    expect(scanProcColumns('IP Virtual Server version 1.2.1 (size=4096)\nsomething else\n')).toBeUndefined();
    const columns = scanProcColumns(`${HEAD}${svcLine}${destLine({ word: 1, port: 1, fwd: 'Route', weight: 1, active: 0, inactive: 0 })}`)!;
    expect(listAllFromColumns(columns, services, FORMAT)).toBeDefined();
    expect(listAllFromColumns(columns, [], FORMAT)).toBeUndefined();
    expect(listAllFromColumns(columns, [{ ...services[0]!, key: { ...services[0]!.key, port: 81 } as Service['key'] }], FORMAT)).toBeUndefined();
  });
});
