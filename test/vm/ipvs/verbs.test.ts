// Every IPVS verb against the real kernel, checked with the real ipvsadm's view of the tables.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openIpvs, type IpvsClient } from '../../../src/ipvs/client.js';
import { readConnections } from '../../../src/ipvs/connections.js';
import { IpvsError, type Destination, type Service, type ServiceKey } from '../../../src/ipvs/types.js';
import { ipvsadm, resetKernel, saved } from './helpers.js';

const T80: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'tcp', address: '10.0.0.1', port: 80 };
const U53: ServiceKey = { kind: 'addr', family: 'inet6', protocol: 'udp', address: '2001:db8::1', port: 53 };
const S9: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'sctp', address: '10.0.0.3', port: 9 };
const FW7: ServiceKey = { kind: 'fwmark', family: 'inet', fwmark: 7 };
const FW8v6: ServiceKey = { kind: 'fwmark', family: 'inet6', fwmark: 8 };
const svc = (key: ServiceKey, extra: Partial<Service> = {}): Service => ({
  key,
  scheduler: 'rr',
  flags: 0,
  timeout: 0,
  netmask: key.family === 'inet' ? '255.255.255.255' : '128',
  ...extra,
});
const dest = (address: string, port: number, extra: Partial<Destination> = {}): Destination => ({
  family: address.includes(':') ? 'inet6' : 'inet',
  address,
  port,
  forward: 'masq',
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
  ...extra,
});

let c: IpvsClient;
beforeAll(async () => {
  c = await openIpvs({ timeoutMs: 20_000 });
});
afterAll(() => {
  c?.close();
  resetKernel();
});
beforeEach(() => resetKernel());

async function poll<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function expectError(p: Promise<unknown>, op: string, errno: number, message: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(IpvsError);
  expect(e).toMatchObject({ op, errno, message });
}

describe('IPVS verbs against the kernel', () => {
  it('getInfo: version 1.2.1 and the connection table size ipvsadm prints', async () => {
    const info = await c.getInfo();
    expect(info.version).toBe(0x010201);
    expect(ipvsadm('-Ln').split('\n')[0]).toBe(`IP Virtual Server version 1.2.1 (size=${info.connTableSize})`);
  });

  it('addService: TCP persistent with netmask, UDP IPv6 with sh flags, SCTP with the sip engine, fwmark v4/v6 with mh flags', async () => {
    await c.addService(svc(T80, { scheduler: 'wrr', flags: 1, timeout: 300, netmask: '255.255.255.0' }));
    await c.addService(svc(U53, { scheduler: 'sh', flags: 0x1 | 0x8 | 0x10, timeout: 60, netmask: '64' }));
    await c.addService(svc(S9, { flags: 1, timeout: 10, persistenceEngine: 'sip' }));
    await c.addService(svc(FW7, { scheduler: 'mh', flags: 0x8 | 0x10 }));
    await c.addService(svc(FW8v6, { scheduler: 'lblcr' }));
    expect(saved().sort()).toEqual(
      [
        '-A -t 10.0.0.1:80 -s wrr -p 300 -M 255.255.255.0',
        '-A -u [2001:db8::1]:53 -s sh -p 60 -M 64 -b sh-fallback,sh-port',
        '-A --sctp-service 10.0.0.3:9 -s rr -p 10 --pe sip',
        '-A -f 7 -s mh -b mh-fallback,mh-port',
        '-A -f 8 -6 -s lblcr',
      ].sort(),
    );
    const services = await c.getServices();
    expect(services.map((s) => ({ ...s, stats: undefined })).sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key)))).toEqual(
      [
        svc(T80, { scheduler: 'wrr', flags: 1, timeout: 300, netmask: '255.255.255.0', persistenceEngine: undefined, stats: undefined }),
        svc(U53, { scheduler: 'sh', flags: 0x19, timeout: 60, netmask: '64', persistenceEngine: undefined, stats: undefined }),
        svc(S9, { flags: 1, timeout: 10, persistenceEngine: 'sip', stats: undefined }),
        svc(FW7, { scheduler: 'mh', flags: 0x18, persistenceEngine: undefined, stats: undefined }),
        svc(FW8v6, { scheduler: 'lblcr', persistenceEngine: undefined, stats: undefined }),
      ].sort((a, b) => JSON.stringify(a.key).localeCompare(JSON.stringify(b.key))),
    );
    expect(await c.getService(U53)).toMatchObject({ scheduler: 'sh', netmask: '64', flags: 0x19 });
  });

  it('every scheduler the kernel has can be set, and one-packet scheduling on UDP', async () => {
    const scheds = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];
    const res = await c.apply(scheds.map((scheduler, i) => ({ op: 'add-service', service: svc({ kind: 'fwmark', family: 'inet', fwmark: 100 + i }, { scheduler }) })));
    expect(res).toEqual(scheds.map(() => undefined));
    expect(saved()).toHaveLength(scheds.length);
    for (const [i, s] of scheds.entries()) expect(saved()).toContain(`-A -f ${100 + i} -s ${s}`);
    await c.addService(svc({ ...U53, port: 54 } as ServiceKey, { flags: 0x4 }));
    expect(saved()).toContain('-A -u [2001:db8::1]:54 -s rr -o');
  });

  it('editService: scheduler, persistence and flags change in place', async () => {
    await c.addService(svc(T80));
    await c.addDestination(T80, dest('10.1.0.1', 80));
    await c.editService(svc(T80, { scheduler: 'sh', flags: 0x1 | 0x10, timeout: 120, netmask: '255.255.0.0' }));
    expect(saved()).toEqual(['-A -t 10.0.0.1:80 -s sh -p 120 -M 255.255.0.0 -b sh-port', '-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1']);
    await c.editService(svc(T80, { scheduler: 'wlc' }));
    expect(saved()[0]).toBe('-A -t 10.0.0.1:80 -s wlc');
  });

  it('destinations: masq/route/tunnel (ipip, gue+port+csum, gre), weights and thresholds; edit and delete', async () => {
    await c.addService(svc(T80));
    await c.addService(svc(FW8v6));
    await c.addDestination(T80, dest('10.1.0.1', 8080, { forward: 'route', weight: 5, upperThreshold: 10, lowerThreshold: 2 }));
    await c.addDestination(T80, dest('10.1.0.2', 8080, { weight: 0 }));
    await c.addDestination(T80, dest('10.1.0.3', 8080, { forward: 'tunnel' }));
    await c.addDestination(T80, dest('10.1.0.4', 8080, { forward: 'tunnel', tunnelType: 'gue', tunnelPort: 6080, tunnelFlags: 1 }));
    await c.addDestination(FW8v6, dest('2001:db8::5', 0, { forward: 'tunnel', tunnelType: 'gre', tunnelFlags: 2, weight: 65535 }));
    expect(saved()).toEqual([
      '-A -t 10.0.0.1:80 -s rr',
      '-a -t 10.0.0.1:80 -r 10.1.0.1:8080 -g -w 5',
      '-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -m -w 0',
      '-a -t 10.0.0.1:80 -r 10.1.0.3:8080 -i -w 1 --tun-type ipip',
      '-a -t 10.0.0.1:80 -r 10.1.0.4:8080 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
      '-A -f 8 -6 -s rr',
      '-a -f 8 -6 -r [2001:db8::5]:0 -i -w 65535 --tun-type gre --tun-remcsum',
    ]);
    expect(ipvsadm('-Ln', '--thresholds', '-t', '10.0.0.1:80')).toMatch(/-> 10\.1\.0\.1:8080\s+10\s+2\s+0\s+0/);
    const ds = (await c.getDestinations(T80)).sort((a, b) => a.address.localeCompare(b.address)); // kernel order: newest first
    expect(ds.map((d) => [d.address, d.forward, d.weight, d.upperThreshold, d.lowerThreshold, d.tunnelType, d.tunnelPort, d.tunnelFlags])).toEqual([
      ['10.1.0.1', 'route', 5, 10, 2, undefined, undefined, undefined],
      ['10.1.0.2', 'masq', 0, 0, 0, undefined, undefined, undefined],
      ['10.1.0.3', 'tunnel', 1, 0, 0, 'ipip', 0, 0],
      ['10.1.0.4', 'tunnel', 1, 0, 0, 'gue', 6080, 1],
    ]);
    await c.editDestination(T80, dest('10.1.0.2', 8080, { forward: 'route', weight: 7, upperThreshold: 100, lowerThreshold: 50 }));
    await c.delDestination(T80, { family: 'inet', address: '10.1.0.1', port: 8080 });
    await c.delDestination(FW8v6, { family: 'inet6', address: '2001:db8::5', port: 0 });
    expect(saved()).toEqual([
      '-A -t 10.0.0.1:80 -s rr',
      '-a -t 10.0.0.1:80 -r 10.1.0.2:8080 -g -w 7',
      '-a -t 10.0.0.1:80 -r 10.1.0.3:8080 -i -w 1 --tun-type ipip',
      '-a -t 10.0.0.1:80 -r 10.1.0.4:8080 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
      '-A -f 8 -6 -s rr',
    ]);
    expect(ipvsadm('-Ln', '--thresholds', '-t', '10.0.0.1:80')).toMatch(/-> 10\.1\.0\.2:8080\s+100\s+50\s+0\s+0/);
  });

  it('delService and flush', async () => {
    await c.addService(svc(T80));
    await c.addService(svc(FW7));
    await c.delService(T80);
    expect(saved()).toEqual(['-A -f 7 -s rr']);
    await c.flush();
    expect(saved()).toEqual([]);
  });

  it('timeouts: set (0 leaves a value unchanged) and get, as ipvsadm -L --timeout shows', async () => {
    await c.setTimeouts({ tcp: 1000, tcpFin: 60, udp: 30 });
    expect(ipvsadm('-L', '--timeout').trim()).toBe('Timeout (tcp tcpfin udp): 1000 60 30');
    await c.setTimeouts({ tcp: 0, tcpFin: 0, udp: 45 });
    expect(await c.getTimeouts()).toEqual({ tcp: 1000, tcpFin: 60, udp: 45 });
  });

  it('sync daemons: start master and backup with all options, list, stop', async () => {
    await c.startDaemon({ state: 'master', mcastInterface: 'lo', syncId: 5 });
    await c.startDaemon({ state: 'backup', mcastInterface: 'lo', syncId: 6, maxLen: 1400, mcastGroup: '239.1.1.1', mcastPort: 9000, mcastTtl: 2 });
    expect(ipvsadm('-L', '--daemon').trim().split('\n')).toEqual([
      'master sync daemon (mcast=lo, syncid=5, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)',
      'backup sync daemon (mcast=lo, syncid=6, maxlen=1400, group=239.1.1.1, port=9000, ttl=2)',
    ]);
    const ds = await c.getDaemons();
    expect(ds).toEqual([
      { state: 'master', mcastInterface: 'lo', syncId: 5, maxLen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
      { state: 'backup', mcastInterface: 'lo', syncId: 6, maxLen: 1400, mcastGroup: '239.1.1.1', mcastPort: 9000, mcastTtl: 2 },
    ]);
    await c.stopDaemon('master');
    expect(ipvsadm('-L', '--daemon').trim()).toMatch(/^backup sync daemon/);
    await c.stopDaemon('backup');
    expect(await c.getDaemons()).toEqual([]);
  });

  it('stats, zero and the connection table from real traffic through a local virtual service', async () => {
    execFileSync('ip', ['link', 'set', 'lo', 'up']);
    execFileSync('sh', ['-c', 'ip addr add 10.9.9.9/32 dev lo 2>/dev/null || true']);
    const key: ServiceKey = { kind: 'addr', family: 'inet', protocol: 'udp', address: '10.9.9.9', port: 9999 };
    await c.addService(svc(key));
    await c.addDestination(key, dest('127.0.0.1', 9998));
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, () => r()));
    for (let i = 0; i < 5; i++) await new Promise<void>((r, j) => sock.send('x', 9999, '10.9.9.9', (e) => (e ? j(e) : r())));
    // Counters reach the netlink view through the rate estimator (every 2 s on current kernels).
    const before = await poll(() => c.getService(key), (s) => s.stats!.inPkts >= 5n);
    expect(before.stats!.conns).toBe(1n);
    expect(before.stats!.inPkts).toBe(5n);
    expect(before.stats!.inBytes).toBeGreaterThan(0n);
    const [d] = await c.getDestinations(key);
    expect(d!.stats!.inPkts).toBe(5n);
    expect(ipvsadm('-Ln', '--stats', '-u', '10.9.9.9:9999')).toMatch(/UDP\s+10\.9\.9\.9:9999\s+1\s+5\s/);

    const conns = await readConnections();
    const mine = conns.filter((x) => x.virtualAddress === '10.9.9.9' && x.virtualPort === 9999);
    expect(mine).toHaveLength(1);
    const port = sock.address().port;
    expect(mine[0]).toMatchObject({ protocol: 'UDP', family: 'inet', clientPort: port, destinationAddress: '127.0.0.1', destinationPort: 9998, state: 'UDP' });
    expect(ipvsadm('-Lnc')).toMatch(new RegExp(`UDP\\s+\\d\\d:\\d\\d\\s+UDP\\s+${mine[0]!.clientAddress.replace(/\./g, '\\.')}:${port}\\s+10\\.9\\.9\\.9:9999\\s+127\\.0\\.0\\.1:9998`));
    sock.close();

    await c.zero(key);
    expect((await poll(() => c.getService(key), (s) => s.stats!.inPkts === 0n)).stats!.conns).toBe(0n);
    expect((await c.getDestinations(key))[0]!.stats!.inPkts).toBe(0n);
    expect(ipvsadm('-Ln', '--stats', '-u', '10.9.9.9:9999')).toMatch(/UDP\s+10\.9\.9\.9:9999\s+0\s+0\s/);

    const again = createSocket('udp4');
    for (let i = 0; i < 2; i++) await new Promise<void>((r, j) => again.send('y', 9999, '10.9.9.9', (e) => (e ? j(e) : r())));
    again.close();
    expect((await poll(() => c.getService(key), (s) => s.stats!.inPkts >= 2n)).stats!.inPkts).toBe(2n);
    await c.zero(); // all services
    expect((await poll(() => c.getService(key), (s) => s.stats!.inPkts === 0n)).stats!.inPkts).toBe(0n);
  });
});

describe('IPVS errors against the kernel leave the tables unchanged', () => {
  beforeEach(async () => {
    await c.addService(svc(T80));
    await c.addDestination(T80, dest('10.1.0.1', 80));
  });
  const unchanged = ['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 1'];

  it.each([
    ['del missing service', () => c.delService(FW7), 'del-service', 3, 'No such service'],
    ['edit missing service', () => c.editService(svc(FW7)), 'edit-service', 3, 'No such service'],
    ['zero missing service', () => c.zero(FW7), 'zero', 3, 'No such service'],
    ['get missing service', () => c.getService(FW7), 'get-service', 3, 'No such service'],
    ['dests of missing service', () => c.getDestinations(FW7), 'get-service', 3, 'No such service'],
    ['duplicate service', () => c.addService(svc(T80, { scheduler: 'wrr' })), 'add-service', 17, 'Service already exists'],
    ['unknown scheduler', () => c.addService(svc(FW7, { scheduler: 'nosuch' })), 'add-service', 2, 'Scheduler or persistence engine not found'],
    ['unknown scheduler on edit', () => c.editService(svc(T80, { scheduler: 'nosuch' })), 'edit-service', 2, 'Scheduler or persistence engine not found'],
    ['unknown persistence engine', () => c.addService(svc(FW7, { persistenceEngine: 'nope' })), 'add-service', 2, 'Scheduler or persistence engine not found'],
    ['duplicate dest', () => c.addDestination(T80, dest('10.1.0.1', 80, { weight: 3 })), 'add-dest', 17, 'Destination already exists'],
    ['dest on missing service', () => c.addDestination(FW7, dest('10.1.0.1', 80)), 'add-dest', 3, 'Service not defined'],
    ['edit missing dest', () => c.editDestination(T80, dest('10.1.0.9', 80)), 'edit-dest', 2, 'No such destination'],
    ['del missing dest', () => c.delDestination(T80, dest('10.1.0.9', 80)), 'del-dest', 2, 'No such destination'],
    ['lower threshold above upper', () => c.addDestination(T80, dest('10.1.0.2', 80, { upperThreshold: 1, lowerThreshold: 5 })), 'add-dest', 34, 'Numerical result out of range'],
    ['stop a daemon that is not running', () => c.stopDaemon('backup'), 'stop-daemon', 3, 'No daemon is running'],
  ] as const)('%s', async (_name, run, op, errno, message) => {
    await expectError(run(), op, errno, message);
    expect(saved()).toEqual(unchanged);
  });

  it('starting a daemon twice: Daemon has already run', async () => {
    await c.startDaemon({ state: 'master', mcastInterface: 'lo', syncId: 1 });
    await expectError(c.startDaemon({ state: 'master', mcastInterface: 'lo', syncId: 2 }), 'start-daemon', 17, 'Daemon has already run');
    expect(ipvsadm('-L', '--daemon')).toMatch(/syncid=1,/);
  });

  it('a pipelined batch reports each failure in place and applies the rest', async () => {
    const res = await c.apply([
      { op: 'add-service', service: svc(T80) }, // EEXIST
      { op: 'add-service', service: svc(FW7) },
      { op: 'add-dest', key: FW7, dest: dest('10.2.0.1', 0) },
      { op: 'del-dest', key: T80, dest: { family: 'inet', address: '10.9.9.9', port: 1 } }, // ENOENT
      { op: 'add-service', service: svc(S9, { scheduler: 'bogus' }) }, // ENOENT
      { op: 'edit-dest', key: T80, dest: dest('10.1.0.1', 80, { weight: 4 }) },
    ]);
    expect(res.map((e) => e && [e.op, e.errno])).toEqual([['add-service', 17], undefined, undefined, ['del-dest', 2], ['add-service', 2], undefined]);
    expect(saved()).toEqual(['-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 10.1.0.1:80 -m -w 4', '-A -f 7 -s rr', '-a -f 7 -r 10.2.0.1:0 -m -w 1']);
  });
});
