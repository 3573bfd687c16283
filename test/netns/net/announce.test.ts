// Gratuitous ARP (addon and arping fallback) and unsolicited NA, captured with tshark in the peer namespace;
// sd_notify-style AF_UNIX datagrams through the addon.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAdapters, Capture, inNs, ipn, Probe, topology, type Topology } from './helpers.js';

let topo: Topology;
let pa: Probe;

beforeAll(async () => {
  buildAdapters();
  topo = topology('lkn-an', 43);
  pa = await Probe.start(topo.a);
  await pa.call('openAnnouncer', { key: 'an' });
});

afterAll(async () => {
  await pa?.stop();
  topo?.down();
});

const ARP_FIELDS = [
  'eth.dst',
  'eth.src',
  'arp.opcode',
  'arp.src.hw_mac',
  'arp.src.proto_ipv4',
  'arp.dst.hw_mac',
  'arp.dst.proto_ipv4',
  'frame.len',
];

describe('gratuitous ARP', () => {
  it('sends keepalived\'s frame through the addon', async () => {
    const cap = new Capture(topo.b, 'eth0', 'arp');
    await cap.start();
    await pa.call('announce', { key: 'an', iface: 'eth0', vip: { family: 'inet', address: '10.77.43.200' } });
    const rows = await cap.stop(ARP_FIELDS);
    expect(rows).toEqual([
      {
        'eth.dst': 'ff:ff:ff:ff:ff:ff',
        'eth.src': topo.macA,
        'arp.opcode': '1',
        'arp.src.hw_mac': topo.macA,
        'arp.src.proto_ipv4': '10.77.43.200',
        'arp.dst.hw_mac': 'ff:ff:ff:ff:ff:ff',
        'arp.dst.proto_ipv4': '10.77.43.200',
        'frame.len': '42', // veth does not pad to the 60-byte Ethernet minimum
      },
    ]);
    expect(pa.events.filter((e) => e.event === 'warning')).toHaveLength(0);
  });

  it('announces from the interface as it is now: a changed MAC is used at once (link cache follows notifications)', async () => {
    const mac = '02:00:5e:77:43:01';
    const cap = new Capture(topo.b, 'eth0', 'arp');
    await cap.start();
    let rows: Record<string, string>[];
    try {
      // Warm the cache, then change the MAC under it.
      await pa.call('announce', { key: 'an', iface: 'eth0', vip: { family: 'inet', address: '10.77.43.201' } });
      ipn(topo.a, 'link', 'set', 'dev', 'eth0', 'address', mac);
      await new Promise((r) => setTimeout(r, 200));
      await pa.call('announce', { key: 'an', iface: 'eth0', vip: { family: 'inet', address: '10.77.43.202' } });
    } finally {
      rows = await cap.stop(['eth.src', 'arp.src.proto_ipv4']);
      ipn(topo.a, 'link', 'set', 'dev', 'eth0', 'address', topo.macA);
    }
    expect(rows).toEqual([
      { 'eth.src': topo.macA, 'arp.src.proto_ipv4': '10.77.43.201' },
      { 'eth.src': mac, 'arp.src.proto_ipv4': '10.77.43.202' },
    ]);
  });

  it('falls back to arping with a warning when the addon is unavailable', async () => {
    const pf = await Probe.start(topo.a, { LVSKEEPER_NO_ADDON: '1' });
    try {
      await pf.call('openAnnouncer', { key: 'an' });
      // iputils arping -U binds to the announced address, so (as in real use) the VIP must be configured.
      ipn(topo.a, 'addr', 'add', '10.77.43.201/32', 'dev', 'eth0');
      const cap = new Capture(topo.b, 'eth0', 'arp');
      await cap.start();
      await pf.call('announce', { key: 'an', iface: 'eth0', vip: { family: 'inet', address: '10.77.43.201' } });
      const rows = await cap.stop(ARP_FIELDS);
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(rows[0]).toMatchObject({
        'eth.dst': 'ff:ff:ff:ff:ff:ff',
        'arp.opcode': '1',
        'arp.src.hw_mac': topo.macA,
        'arp.src.proto_ipv4': '10.77.43.201',
        'arp.dst.proto_ipv4': '10.77.43.201',
      });
      const w = await pf.waitFor((e) => e.event === 'warning');
      expect(String(w['message'])).toMatch(/arping.*LVSKEEPER_NO_ADDON/);
    } finally {
      await pf.stop();
    }
  });

  it('names the interface when it does not exist', async () => {
    await expect(
      pa.call('announce', { key: 'an', iface: 'nosuch0', vip: { family: 'inet', address: '10.77.43.200' } }),
    ).rejects.toThrow(/10\.77\.43\.200 on nosuch0: interface nosuch0 not found/);
  });
});

describe('unsolicited neighbour advertisement', () => {
  const NA_FIELDS = [
    'eth.dst',
    'ipv6.dst',
    'ipv6.hlim',
    'icmpv6.type',
    'icmpv6.checksum.status',
    'icmpv6.nd.na.flag.r',
    'icmpv6.nd.na.flag.s',
    'icmpv6.nd.na.flag.o',
    'icmpv6.nd.na.target_address',
    'icmpv6.opt.linkaddr',
  ];

  it('sends an NA to ff02::1 with hop limit 255, Override set, target = VIP, TLLA = our MAC', async () => {
    const cap = new Capture(topo.b, 'eth0', 'icmp6');
    await cap.start();
    await pa.call('announce', { key: 'an', iface: 'eth0', vip: { family: 'inet6', address: '2001:db8:43::200' } });
    const rows = await cap.stop(NA_FIELDS, 'icmpv6.type == 136');
    expect(rows).toEqual([
      {
        'eth.dst': '33:33:00:00:00:01',
        'ipv6.dst': 'ff02::1',
        'ipv6.hlim': '255',
        'icmpv6.type': '136',
        'icmpv6.checksum.status': '1', // tshark: 1 = Good
        'icmpv6.nd.na.flag.r': '0',
        'icmpv6.nd.na.flag.s': '0',
        'icmpv6.nd.na.flag.o': '1',
        'icmpv6.nd.na.target_address': '2001:db8:43::200',
        'icmpv6.opt.linkaddr': topo.macA,
      },
    ]);
  });

  it('sets the Router flag when the interface forwards IPv6, as keepalived does', async () => {
    inNs(topo.a, 'sysctl', '-qw', 'net.ipv6.conf.eth0.forwarding=1');
    const cap = new Capture(topo.b, 'eth0', 'icmp6');
    await cap.start();
    await pa.call('announce', { key: 'an', iface: 'eth0', vip: { family: 'inet6', address: '2001:db8:43::201' } });
    const rows = await cap.stop(['icmpv6.nd.na.flag.r', 'icmpv6.nd.na.target_address'], 'icmpv6.type == 136');
    expect(rows).toEqual([{ 'icmpv6.nd.na.flag.r': '1', 'icmpv6.nd.na.target_address': '2001:db8:43::201' }]);
  });
});

describe('sendUnixDatagram (sd_notify)', () => {
  const receiveOne = (address: string): { ready: Promise<void>; got: Promise<string> } => {
    // Python is the simplest AF_UNIX datagram receiver available (node:dgram has none). It runs in the
    // probe's namespace because abstract socket names are per network namespace.
    const py = spawn('ip', ['netns', 'exec', topo.a, 'python3',
      '-c',
      'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\na=sys.argv[1]\ns.bind("\\0"+a[1:] if a.startswith("@") else a)\nprint("ready",flush=True)\nprint(s.recv(4096).decode(),flush=True)',
      address,
    ]);
    let out = '';
    let onReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (onReady = r));
    const got = new Promise<string>((resolve, reject) => {
      py.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.startsWith('ready\n')) onReady();
        const lines = out.split('\n');
        if (lines.length >= 3) resolve(lines[1]!);
      });
      py.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`python exited ${code}`))));
    });
    return { ready, got };
  };

  it('delivers to a path socket and to an abstract one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lkn-notify-'));
    try {
      const path = join(dir, 'notify.sock');
      const r1 = receiveOne(path);
      await r1.ready;
      expect(await pa.call('unixDatagram', { path, data: 'READY=1' })).toBe(true);
      expect(await r1.got).toBe('READY=1');

      const abstract = `@lkn-notify-${process.pid}`;
      const r2 = receiveOne(abstract);
      await r2.ready;
      expect(await pa.call('unixDatagram', { path: abstract, data: 'STATUS=ok' })).toBe(true);
      expect(await r2.got).toBe('STATUS=ok');
      await expect(pa.call('unixDatagram', { path: join(dir, 'absent.sock'), data: 'x' })).rejects.toThrow(/ENOENT|No such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
