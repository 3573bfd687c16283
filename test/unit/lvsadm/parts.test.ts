// The C-library behaviours lvsadm reproduces, and the pieces of -R, -c and sorting.
import { describe, expect, it } from 'vitest';
import { inetAton, ipv4Text, stringToNumber, strtolWhole } from '../../../src/cli/lvsadm/cparse.js';
import { connectionsText, largeNumber, NUMERIC_ONLY, sortServices } from '../../../src/cli/lvsadm/format.js';
import { NO_FORMAT, parseInvocation } from '../../../src/cli/lvsadm/options.js';
import { Popt } from '../../../src/cli/lvsadm/popt.js';
import { splitRestoreLines } from '../../../src/cli/lvsadm/restore.js';
import { opOf } from '../../../src/cli/lvsadm/run.js';
import type { ServiceEntry } from '../../../src/ipvs/types.js';

describe('inet_aton', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0x7f.1', '127.0.0.1'],
    ['10.1', '10.0.0.1'],
    ['10.1.2', '10.1.0.2'],
    ['010.0.0.1', '8.0.0.1'],
    ['4294967295', '255.255.255.255'],
    ['1.2.3.4 trailing', '1.2.3.4'],
  ])('%s is %s', (text, address) => {
    expect(ipv4Text(inetAton(text)!)).toBe(address);
  });
  it.each(['', '1.2.3.256', '1.2.3.4.5', '08.1.1.1', '0x', 'a.b.c.d', '1..2', '1.2.3.4x', '256.1', '4294967296'])('rejects %j', (t) => {
    expect(inetAton(t)).toBeUndefined();
  });
});

describe('strtol as string_to_number uses it', () => {
  it('accepts what strtol consumes whole', () => {
    expect(strtolWhole(' +42')).toBe(42);
    expect(strtolWhole('-0') === 0).toBe(true);
    expect(strtolWhole('42 ')).toBeUndefined();
    expect(strtolWhole('')).toBeUndefined();
    expect(strtolWhole('99999999999999999999')).toBeUndefined(); // ERANGE
    expect(stringToNumber('65535', 0, 65535)).toBe(65535);
    expect(stringToNumber('65536', 0, 65535)).toBeUndefined();
  });
});

describe('popt', () => {
  const table = [
    { long: 'list', short: 'L', arg: 'none' as const, tag: 'L' },
    { long: 'numeric', short: 'n', arg: 'none' as const, tag: 'n' },
    { long: 'persistent', short: 'p', arg: 'optional' as const, tag: 'p' },
    { long: 'weight', short: 'w', arg: 'required' as const, tag: 'w' },
  ];
  const all = (argv: string[]) => {
    const p = new Popt(argv, table);
    const items = [];
    for (let i = p.next(); i; i = p.next()) items.push(i);
    return { items: items.map((i) => (i.type === 'option' ? `${i.tag}=${i.arg ?? ''}` : `${i.word}:${i.error}`)), left: p.leftovers };
  };
  it('clusters short options and attaches values', () => {
    expect(all(['-Lnw5', 'x'])).toEqual({ items: ['L=', 'n=', 'w=5'], left: ['x'] });
    expect(all(['-w=7'])).toEqual({ items: ['w=7'], left: [] });
  });
  it('takes a required value even when it looks like an option, an optional one only if it does not', () => {
    expect(all(['-w', '-1'])).toEqual({ items: ['w=-1'], left: [] });
    expect(all(['-p', '-n'])).toEqual({ items: ['p=', 'n='], left: [] });
    expect(all(['-p', '50'])).toEqual({ items: ['p=50'], left: [] });
  });
  it('reports errors with the whole word', () => {
    expect(all(['-Lq']).items).toEqual(['L=', '-Lq:unknown option']);
    expect(all(['--numeric=x']).items).toEqual(['--numeric=x:option does not take an argument']);
    expect(all(['-w']).items).toEqual(['-w:missing argument']);
  });
  it('stops option processing at --', () => {
    expect(all(['-L', '--', '-n'])).toEqual({ items: ['L='], left: ['-n'] });
  });
});

describe('-R input', () => {
  it('splits at blanks, tabs and CR, drops "ipvsadm" words and empty lines, keeps "#"', () => {
    expect(splitRestoreLines('ipvsadm -A -t 1.1.1.1:80\r\n\n  \t\n# x\n-C')).toEqual([['-A', '-t', '1.1.1.1:80'], ['#', 'x'], ['-C']]);
    expect(splitRestoreLines('-a\t-t 1.1.1.1:80  -r\t\t2.2.2.2\n-C ipvsadm\n')).toEqual([['-a', '-t', '1.1.1.1:80', '-r', '2.2.2.2'], ['-C']]);
    expect(splitRestoreLines('-L -n')).toEqual([['-L', '-n']]);
  });
});

describe('ops', () => {
  const op = (line: string) => {
    const inv = parseInvocation(line.split(' '), 'ipvsadm');
    if (inv.kind !== 'command') throw new Error(line);
    return opOf(inv.entry);
  };
  it('builds the kernel request ipvsadm would send', () => {
    expect(op('-A -t 10.0.0.1:80 -p -M 255.255.0.0')).toEqual({
      op: 'add-service',
      service: {
        key: { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 },
        scheduler: 'wlc',
        flags: 1,
        timeout: 360,
        netmask: '255.255.0.0',
        persistenceEngine: undefined,
      },
    });
    // DR and tunnel take the virtual port; masquerading keeps its own; -r without port copies the service's
    expect(op('-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g')).toMatchObject({ dest: { port: 80, forward: 'route', weight: 1 } });
    expect(op('-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m')).toMatchObject({ dest: { port: 8080, forward: 'masq' } });
    expect(op('-d -t 10.0.0.1:80 -r 10.0.0.2')).toMatchObject({ dest: { port: 80 } });
    expect(op('-Z')).toEqual({ op: 'zero', key: undefined });
    expect(op('-A -f 5 -6')).toMatchObject({ service: { key: { kind: 'fwmark', family: 'inet6', fwmark: 5 }, netmask: '128' } });
    // -M before an IPv6 -t is overridden by the IPv6 default, as in ipvsadm
    expect(op('-A -M 64 -t [2001:db8::5]:80 -p')).toMatchObject({ service: { netmask: '128' } });
    expect(op('--start-daemon master')).toMatchObject({ daemon: { state: 'master', mcastInterface: 'eth0', syncId: 0 } });
  });
});

describe('listing helpers', () => {
  it('print_largenum', () => {
    expect(largeNumber(99999999n, false)).toBe(' 99999999');
    expect(largeNumber(100000000n, false)).toBe('  100000K');
    expect(largeNumber(1234567890n, false)).toBe('    1234M');
    expect(largeNumber(123456789012n, false)).toBe('     123G');
    expect(largeNumber(123456789012345n, false)).toBe('     123T');
    expect(largeNumber(1234567890n, true)).toBe(' 1234567890');
    expect(largeNumber(5n, true)).toBe('        5');
  });

  it('sorts addresses with ipvsadm wrap-around (1.0.0.0 after 200.0.0.0)', () => {
    const svc = (address: string): ServiceEntry => ({
      service: { key: { kind: 'addr', family: 'inet', protocol: 'tcp', address, port: 80 }, scheduler: 'rr', flags: 0, timeout: 0, netmask: '255.255.255.255' },
      destinations: [],
    });
    const order = sortServices([svc('1.0.0.1'), svc('200.0.0.1')]).map((e) => (e.service.key as { address: string }).address);
    // (int)(0x01000001 - 0xC8000001) > 0: ipvsadm puts 200.0.0.1 first
    expect(order).toEqual(['200.0.0.1', '1.0.0.1']);
  });

  it('formats /proc/net/ip_vs_conn like list_conn', () => {
    const proc =
      'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' +
      'TCP 0A090909 A796 0A090909 0050 0A090909 0050 CLOSE             8\n' +
      'UDP 0A090909 9D08 0A090909 0035 0A090909 0035 UDP             297 sip callid\n' +
      'TCP 2001:0db8:0000:0000:0000:0000:0000:0099 DDA0 2001:0db8:0000:0000:0000:0000:0000:0099 0050 2001:0db8:0000:0000:0000:0000:0000:0099 0050 TIME_WAIT 118\n';
    expect(connectionsText(proc, { ...NO_FORMAT, numeric: true }, NUMERIC_ONLY)).toBe(
      'IPVS connection entries\n' +
        'pro expire state       source             virtual            destination\n' +
        'TCP 00:08  CLOSE       10.9.9.9:42902     10.9.9.9:80        10.9.9.9:80\n' +
        'UDP 04:57  UDP         10.9.9.9:40200     10.9.9.9:53        10.9.9.9:53\n' +
        'TCP 01:58  TIME_WAIT   [2001:db8::99]:56736 [2001:db8::99]:80  [2001:db8::99]:80\n',
    );
    expect(connectionsText(proc, { ...NO_FORMAT, numeric: true, persistentConn: true }, NUMERIC_ONLY).split('\n')[3]).toBe(
      'UDP 04:57  UDP         10.9.9.9:40200     10.9.9.9:53        10.9.9.9:53      sip                callid',
    );
  });
});

describe('names', () => {
  it('reads IPv4 host names from a hosts file like the files backend (first line, any case)', async () => {
    const { hostsFileIPv4, parseServices, ServicesDb } = await import('../../../src/cli/lvsadm/names.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = `${mkdtempSync(`${tmpdir()}/lvsadm-`)}/hosts`;
    writeFileSync(file, '# comment\n::1 localhost\n127.0.0.1 localhost box\n10.0.0.1 Web web.example # x\n10.0.0.2 web\n');
    expect(hostsFileIPv4('localhost', file)).toBe(0x7f000001);
    expect(hostsFileIPv4('WEB', file)).toBe(0x0a000001);
    expect(hostsFileIPv4('nothere', file)).toBeUndefined();
    const db = new ServicesDb(parseServices('http 80/tcp www # web\nhttp 80/udp\nwww-alt 80/tcp\n'));
    expect(db.portName(80, 'tcp')).toBe('http');
    expect(db.port('www', 'tcp')).toBe(80);
    expect(db.port('www', 'udp')).toBeUndefined();
  });
});

describe('inet_pton(AF_INET)', () => {
  it('takes exactly four decimal parts without leading zeros', async () => {
    const { inetPton4 } = await import('../../../src/cli/lvsadm/cparse.js');
    expect(inetPton4('10.0.0.1')).toBe(0x0a000001);
    expect(inetPton4('255.255.255.255')).toBe(0xffffffff);
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..2.3', '1.2.3.4.', 'a.b.c.d', '1.2.3.4 ']) {
      expect(inetPton4(bad)).toBeUndefined();
    }
  });
});
