// Where a table listing takes its destinations from: /proc/net/ip_vs joined to one GET_SERVICE dump when
// the listing prints nothing else, GET_DEST per service (getAll) otherwise or when the two disagree.
import { describe, expect, it } from 'vitest';
import { NUMERIC_ONLY } from '../../../src/cli/lvsadm/format.js';
import { runArgv, type LvsadmClient, type LvsadmIo } from '../../../src/cli/lvsadm/run.js';
import type { Destination, Service, ServiceEntry } from '../../../src/ipvs/types.js';

const dest = (address: string, weight: number, forward: Destination['forward'] = 'masq'): Destination => ({
  family: 'inet',
  address,
  port: 8080,
  forward,
  weight,
  upperThreshold: 0,
  lowerThreshold: 0,
  activeConns: 2,
  inactiveConns: 3,
});
const service = (address: string, port: number): Service => ({
  key: { kind: 'addr', family: 'inet', protocol: 'tcp', address, port },
  scheduler: 'wrr',
  flags: 0,
  timeout: 0,
  netmask: '255.255.255.255',
});
// kernel order: services by hash, destinations newest first
const TABLE: ServiceEntry[] = [
  { service: service('10.0.0.2', 443), destinations: [dest('172.16.0.2', 5), dest('172.16.0.1', 4, 'route')] },
  { service: service('10.0.0.1', 80), destinations: [dest('172.16.0.11', 1)] },
];
const PROC = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A000002:01BB wrr  
  -> AC100002:1F90      Masq    5      2          3         
  -> AC100001:1F90      Route   4      2          3         
TCP  0A000001:0050 wrr  
  -> AC10000B:1F90      Masq    1      2          3         
`;

function setup(proc: (() => string) | undefined, table = TABLE) {
  const calls: string[] = [];
  const client: LvsadmClient = {
    apply: async () => [],
    getAll: async () => (calls.push('getAll'), table),
    getServices: async () => (calls.push('getServices'), table.map((e) => e.service)),
    getInfo: async () => (calls.push('getInfo'), { version: 0x010201, connTableSize: 4096 }),
    getService: async () => table[0]!.service,
    getDestinations: async () => table[0]!.destinations,
    getTimeouts: async () => ({ tcp: 0, tcpFin: 0, udp: 0 }),
    getDaemons: async () => [],
  };
  let out = '';
  const io: LvsadmIo = {
    out: (t) => (out += t),
    err: (t) => (out += t),
    names: () => NUMERIC_ONLY,
    readConnections: () => '',
    readIpvsTable: proc && (() => proc),
    readStdin: () => '',
    resolver: { hostToIPv4: () => undefined, hostToIPv6: () => undefined, serviceToPort: () => undefined } as unknown as LvsadmIo['resolver'],
    errorMessage: (e) => e.message,
  };
  const run = async (argv: string[]) => {
    out = '';
    calls.length = 0;
    const status = await runArgv(argv, 'lvsadm', async () => client, io);
    return { status, out, calls: [...calls] };
  };
  return run;
}

describe('table listings', () => {
  it('-Ln from /proc/net/ip_vs prints what the GET_DEST listing prints, with one GET_SERVICE dump', async () => {
    const viaProc = await setup(() => PROC)(['-Ln']);
    const viaNetlink = await setup(undefined)(['-Ln']);
    expect(viaProc.calls).toEqual(['getServices']);
    expect(viaNetlink.calls.sort()).toEqual(['getAll', 'getInfo']);
    expect(viaProc.out).toBe(viaNetlink.out);
    expect(viaProc.out).toContain('  -> 172.16.0.1:8080              Route   4      2          3         \n');
  });

  it('-Sn from /proc/net/ip_vs too, unless a destination tunnels (its options are not in the file)', async () => {
    expect((await setup(() => PROC)(['-Sn'])).calls).toEqual(['getServices']);
    expect((await setup(() => PROC)(['-Sn'])).out).toBe((await setup(undefined)(['-Sn'])).out);
    const tunnelled = PROC.replace('Route ', 'Tunnel');
    expect((await setup(() => tunnelled)(['-Sn'])).calls).toContain('getAll');
  });

  it.each([['--stats'], ['--rate'], ['--thresholds'], ['--persistent-conn'], ['--tun-info']])('-Ln %s asks GET_DEST', async (flag) => {
    expect((await setup(() => PROC)(['-Ln', flag])).calls).toContain('getAll');
  });

  it('falls back to GET_DEST when the file is missing, unreadable or no longer matches', async () => {
    const expected = (await setup(undefined)(['-Ln'])).out;
    const cases: Array<() => string> = [
      () => {
        throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      },
      () => PROC.replace('IP Virtual Server', 'Something else'),
      () => PROC.replace('0A000001:0050', '0A000001:0051'), // a service changed in between
      () => PROC.split('\n').slice(0, 6).join('\n') + '\n', // a service gone
    ];
    for (const proc of cases) {
      const r = await setup(proc)(['-Ln']);
      expect(r.calls).toContain('getAll');
      expect(r.out).toBe(expected);
    }
  });
});
