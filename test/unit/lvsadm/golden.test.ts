// Golden outputs captured from the real ipvsadm 1.31 in the kernel VM (golden/ipvsadm-probes.json, keyed by
// the command line): parse errors and help must match byte for byte, and listings rendered from the table
// that ipvsadm's own -Sn described must match ipvsadm's listings of that table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ServiceEntry } from '../../../src/ipvs/types.js';
import { listAllText, listServiceText, type NameLookup } from '../../../src/cli/lvsadm/format.js';
import { ServicesDb, parseServices } from '../../../src/cli/lvsadm/names.js';
import { LvsadmExit, NO_FORMAT, parseInvocation, type FormatFlags, type InputResolver } from '../../../src/cli/lvsadm/options.js';
import { destinationOf, serviceOf } from '../../../src/cli/lvsadm/run.js';

type Probe = { stdout: string; stderr: string; rc: number };
const probes = JSON.parse(readFileSync(new URL('./golden/ipvsadm-probes.json', import.meta.url), 'utf8')) as Record<string, Probe[]>;

function golden(command: string, nth = 0): Probe {
  const p = probes[command]?.[nth];
  if (!p) throw new Error(`no golden for ${command}`);
  return p;
}

// The VM's name services: /etc/hosts maps 127.0.0.1 to localhost; /etc/services is the host's.
const SERVICES = new ServicesDb(
  parseServices(
    'domain 53/tcp\ndomain 53/udp\nhttp 80/tcp www\niso-tsap 102/tcp tsap\nhttps 443/tcp\nhttps 443/udp\nhttp-alt 8080/tcp webcache\n',
  ),
);
const resolver: InputResolver = {
  hostToIPv4: (name) => (name === 'localhost' ? 0x7f000001 : undefined),
  serviceToPort: (name, proto) => SERVICES.port(name, proto),
};
const names: NameLookup = {
  host: (_f, a) => (a === '127.0.0.1' ? 'localhost' : undefined),
  service: (port, proto) => SERVICES.portName(port, proto),
};

/** Outcome of parsing a command line as lvsadm's main would report it (parse stage only). */
function parseOutcome(line: string): Probe | 'parsed' {
  try {
    const inv = parseInvocation(line.split(' ').slice(1).filter((w) => w !== ''), 'ipvsadm', resolver);
    if (inv.kind !== 'command') return { stdout: inv.text, stderr: '', rc: 0 };
    return 'parsed';
  } catch (e) {
    if (!(e instanceof LvsadmExit)) throw e;
    return { stdout: e.stdout, stderr: e.stderr, rc: e.status };
  }
}

const PARSE_ERRORS = [
  'ipvsadm -nL',
  'ipvsadm --lis',
  'ipvsadm -list',
  'ipvsadm -A -t',
  'ipvsadm -A -t 1.2.3.4:88 -p abc',
  'ipvsadm -A -t 1.2.3.4:89 -p -5',
  'ipvsadm -a -t 1.2.3.4:82 -r 10.0.0.1 -w -1',
  'ipvsadm -a -t 1.2.3.4:82 -r 10.0.0.1 -w abc',
  'ipvsadm -a -t 1.2.3.4:82 -r 10.0.0.1 -w',
  'ipvsadm -L -A',
  'ipvsadm -L foo',
  'ipvsadm -L -q',
  'ipvsadm -q',
  'ipvsadm --foo',
  'ipvsadm -L --foo',
  'ipvsadm -A -6 -f 2',
  'ipvsadm -A -t 2001:db8::2',
  'ipvsadm -A -t [2001:db8::3]',
  'ipvsadm -A -t [1.2.3.5]:80',
  'ipvsadm -A -t 1.2.3.4:0',
  'ipvsadm -A -t 1.2.3.4:92 -o',
  'ipvsadm -A -t 1.2.3.4:93 -s rr -b sh-port',
  'ipvsadm -A -t 1.2.3.4:96 -b foo',
  'ipvsadm -A -t [2001:db8::6]:80 -p -M 200',
  'ipvsadm -A -t 1.2.3.4:99 -M foo.invalid',
  'ipvsadm -A -t 1.2.3.4:nosuchsvc',
  'ipvsadm -A -t 1.2.3.4:65536',
  'ipvsadm -A -t 80',
  'ipvsadm -A -f 0',
  'ipvsadm -A -f -3',
  'ipvsadm -A -f 4294967296',
  'ipvsadm -a -t 1.2.3.4:84 -r 10.0.0.8 -i --tun-type gue',
  'ipvsadm -a -t 1.2.3.4:84 -r 10.0.0.11 -m --tun-type gue',
  'ipvsadm -a -t 1.2.3.4:84 -r 10.0.0.12 -i --tun-type ipip --tun-csum',
  'ipvsadm -a -t 1.2.3.4:84 -r 10.0.0.13 -i --tun-type gre --tun-csum --tun-nocsum',
  'ipvsadm -a -t 1.2.3.4:84 -r [2001:db8::9]:80 -m',
  'ipvsadm -a -t 1.2.3.4:84',
  'ipvsadm -a -t 1.2.3.4:84 -r 10.0.0.17 -s rr',
  'ipvsadm -L -c --stats',
  'ipvsadm -L --timeout --daemon',
  'ipvsadm -L --timeout --persistent-conn',
  'ipvsadm -L -c -t 1.2.3.4:84',
  'ipvsadm --set 1 2',
  'ipvsadm --set 1 2 3 4',
  'ipvsadm --set 2678401 0 0',
  'ipvsadm --set -1 0 0',
  'ipvsadm --start-daemon foo',
  'ipvsadm --stop-daemon foo',
  'ipvsadm -S -c',
  'ipvsadm -Ln -- foo',
  'ipvsadm -Ln -n',
  'ipvsadm -Ln -t 1.2.3.4:84 -t 1.2.3.4:84',
  'ipvsadm -L -h',
  'ipvsadm -A -t 1.2.3.4:106 -s rr -s wrr',
  'ipvsadm -LA',
  'ipvsadm -Lnq',
  'ipvsadm -Lq',
  'ipvsadm foo -L',
  'ipvsadm -L -',
  'ipvsadm --list=x',
  'ipvsadm -L --numeric=x',
  'ipvsadm -Lx',
  'ipvsadm -A -t=',
  'ipvsadm -A -t 1.1.1.1:80 -p -',
  'ipvsadm -A -s -t',
  'ipvsadm -L -t',
  'ipvsadm -A -t 1.1.1.1:80 -s rr -p 0',
  'ipvsadm -A -t 1.1.1.1:81 -s rr -p 2678401',
  'ipvsadm -C -n',
  'ipvsadm -R -n',
  'ipvsadm -Z -n',
  'ipvsadm --start-daemon master --syncid 256',
  'ipvsadm --start-daemon master --mcast-group 1.2.3.4',
  'ipvsadm --start-daemon master --mcast-group ff02::zz',
  'ipvsadm --start-daemon master --mcast-port 0',
  'ipvsadm --start-daemon master --mcast-ttl 256',
  'ipvsadm --start-daemon master --sync-maxlen 65508',
];

const ACCEPTED = [
  'ipvsadm -A -t=1.2.3.4:80',
  'ipvsadm -A -t1.2.3.4:81',
  'ipvsadm -A -t 1.2.3.4:85 -p=51',
  'ipvsadm -A -t 1.2.3.4:87 -p52',
  'ipvsadm -A -t 1.2.3.4 -p',
  'ipvsadm -A -u 1.2.3.4:domain',
  'ipvsadm -A -t localhost:8080',
  'ipvsadm -A -t 1.2.3.4:+100',
  'ipvsadm -A -t 0x7f.1:101',
  'ipvsadm -A -f 4294967295',
  'ipvsadm -Lnt 1.2.3.4:84',
  'ipvsadm -At 1.2.3.4:105',
  'ipvsadm --add-service --tcp-service=1.2.3.4:108 --scheduler=rr',
  'ipvsadm -a -t 1.2.3.4:82 -r 10.0.0.1 -w 70000',
];

describe('lvsadm option parsing against ipvsadm goldens', () => {
  it.each(PARSE_ERRORS)('%s', (line) => {
    const g = golden(line);
    expect(g.rc).not.toBe(0);
    expect(parseOutcome(line)).toEqual(g);
  });

  it.each(ACCEPTED)('accepts %s', (line) => {
    expect(golden(line).rc).toBe(0);
    expect(parseOutcome(line)).toBe('parsed');
  });

  it.each(['ipvsadm -h', 'ipvsadm -h -L', 'ipvsadm -h foo', 'ipvsadm -v', 'ipvsadm --version'])('%s', (line) => {
    expect(parseOutcome(line)).toEqual(golden(line));
  });
});

/** The table ipvsadm listed, rebuilt from its own `ipvsadm -Sn` (restored through lvsadm's parser). */
function tableFromSave(save: string): ServiceEntry[] {
  const entries: ServiceEntry[] = [];
  for (const line of save.trim().split('\n')) {
    const inv = parseInvocation(line.split(' '), 'ipvsadm', resolver);
    if (inv.kind !== 'command') throw new Error(line);
    const ce = inv.entry;
    if (ce.cmd === 'add-service') entries.push({ service: serviceOf(ce), destinations: [] });
    else {
      const d = destinationOf(ce);
      entries[entries.length - 1]!.destinations.push({ ...d, activeConns: 0, inactiveConns: 0, persistConns: 0 });
    }
  }
  return entries;
}

const fmt = (f: Partial<FormatFlags>): FormatFlags => ({ ...NO_FORMAT, ...f });

describe('lvsadm listings against ipvsadm goldens', () => {
  // -Sn prints "-f -1" for fwmark 4294967295, which no parser accepts back; rebuild that one by hand.
  const save = golden('ipvsadm -Sn').stdout.replace('-A -f -1 -s wlc\n', '');
  const table = tableFromSave(save);
  table.push({
    service: { key: { kind: 'fwmark', family: 'inet', fwmark: 4294967295 }, scheduler: 'wlc', flags: 0, timeout: 0, netmask: '255.255.255.255' },
    destinations: [],
  });
  // -S does not save thresholds; the probe gave 10.0.0.14 "-x 100 -y 10".
  for (const e of table) for (const d of e.destinations) if (d.address === '10.0.0.14') Object.assign(d, { upperThreshold: 100, lowerThreshold: 10 });
  // Reverse the kernel's order too: sorting must not depend on it.
  table.reverse();
  const info = { version: 0x010201, connTableSize: 4096 };

  it.each([
    ['ipvsadm -Sn', fmt({ rule: true, numeric: true })],
    ['ipvsadm -S', fmt({ rule: true })],
    ['ipvsadm -Ln --sort', fmt({ numeric: true })],
    ['ipvsadm -Ln --thresholds', fmt({ numeric: true, thresholds: true })],
    ['ipvsadm -Ln --persistent-conn', fmt({ numeric: true, persistentConn: true })],
    ['ipvsadm -Ln --tun-info', fmt({ numeric: true, tunInfo: true })],
    ['ipvsadm -Ln --stats --rate', fmt({ numeric: true, stats: true, rate: true })],
    ['ipvsadm -Ln --rate', fmt({ numeric: true, rate: true })],
    ['ipvsadm -Ln --exact --stats', fmt({ numeric: true, stats: true, exact: true })],
  ] as const)('%s', (command, format) => {
    const expected = golden(command).stdout;
    expect(listAllText(info, table, format, names)).toBe(expected);
  });

  it('ipvsadm -L -n -t 1.2.3.4:84 (one service, no version line)', () => {
    const entry = table.find((e) => e.service.key.kind === 'addr' && e.service.key.port === 84)!;
    expect(listServiceText(entry, fmt({ numeric: true }), names)).toBe(golden('ipvsadm -L -n -t 1.2.3.4:84').stdout);
    expect(listServiceText(entry, fmt({}), names)).toBe(golden('ipvsadm -L -t 1.2.3.4:84').stdout);
  });
});
