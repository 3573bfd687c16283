// The no-accept firewall against the kernel: the tables it builds are compared with what keepalived 2.2.7
// built for the same configuration (recorded below), and traffic to the VIPs is dropped or accepted as with
// keepalived. Runs nft in namespace lkn-fw-a through a wrapper script (root).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoAcceptFirewall, type FirewallOptions } from '../../../src/net/firewall.js';
import type { FirewallInstance, FirewallVip } from '../../../src/net/types.js';
import { inNs, ipn, sh, topology, type Topology } from './helpers.js';

// Recorded with keepalived 2.2.7 (Debian 12, NFTABLES build): `nft list table FAMILY NAME` in a network
// namespace, in the states named by each key (configurations in the comments below).
const keepalived = {
  'strict-master-ip': `table ip keepalived {
	set vips {
		type ipv4_addr
		elements = { 10.88.0.100, 10.88.0.101 }
	}

	chain out {
		type filter hook output priority filter - 1; policy accept;
		ip saddr @vips drop
	}

	chain in {
		type filter hook input priority filter - 1; policy accept;
		ip daddr @vips drop
	}
}
`,
  'strict-master-ip6': `table ip6 keepalived {
	set vips {
		type ipv6_addr
		elements = { 2001:db8::100 }
	}

	set neighbor-discovery {
		type icmpv6_type
		flags constant
		elements = { nd-neighbor-solicit,
			     nd-neighbor-advert }
	}

	set vips_link_local {
		type ipv6_addr . iface_index
		elements = { fe80::100 . "eth0" }
	}

	chain out {
		type filter hook output priority filter - 1; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 saddr fe80::/10 goto out_link_local
		ip6 saddr @vips drop
	}

	chain in {
		type filter hook input priority filter - 1; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 daddr fe80::/10 goto in_link_local
		ip6 daddr @vips drop
	}

	chain in_link_local {
		ip6 daddr . iif @vips_link_local drop
	}

	chain out_link_local {
		ip6 saddr . oif @vips_link_local drop
	}
}
`,
  'strict-backup-ip': `table ip keepalived {
	set vips {
		type ipv4_addr
	}

	chain out {
		type filter hook output priority filter - 1; policy accept;
		ip saddr @vips drop
	}

	chain in {
		type filter hook input priority filter - 1; policy accept;
		ip daddr @vips drop
	}
}
`,
  'strict-backup-ip6': `table ip6 keepalived {
	set vips {
		type ipv6_addr
	}

	set neighbor-discovery {
		type icmpv6_type
		flags constant
		elements = { nd-neighbor-solicit,
			     nd-neighbor-advert }
	}

	set vips_link_local {
		type ipv6_addr . iface_index
	}

	chain out {
		type filter hook output priority filter - 1; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 saddr fe80::/10 goto out_link_local
		ip6 saddr @vips drop
	}

	chain in {
		type filter hook input priority filter - 1; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 daddr fe80::/10 goto in_link_local
		ip6 daddr @vips drop
	}

	chain in_link_local {
		ip6 daddr . iif @vips_link_local drop
	}

	chain out_link_local {
		ip6 saddr . oif @vips_link_local drop
	}
}
`,
  'v6-master-ip6': `table ip6 keepalived {
	set vips {
		type ipv6_addr
		elements = { 2001:db8::100 }
	}

	set neighbor-discovery {
		type icmpv6_type
		flags constant
		elements = { nd-neighbor-solicit,
			     nd-neighbor-advert }
	}

	chain out {
		type filter hook output priority filter - 1; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 saddr fe80::/10 goto out_link_local
		ip6 saddr @vips drop
	}

	chain in {
		type filter hook input priority filter - 1; policy accept;
		icmpv6 type @neighbor-discovery accept
		ip6 daddr fe80::/10 goto in_link_local
		ip6 daddr @vips drop
	}

	chain in_link_local {
	}

	chain out_link_local {
	}
}
`,
  'opts-master-ip': `table ip mytab {
	set vips {
		type ipv4_addr
		elements = { 10.88.0.102, 10.88.0.103 }
	}

	chain out {
		type filter hook output priority filter - 5; policy accept;
		ip saddr @vips counter packets 0 bytes 0 drop
	}

	chain in {
		type filter hook input priority filter - 5; policy accept;
		ip daddr @vips counter packets 0 bytes 0 drop
	}
}
`,
  'opts-master-ip6': `table ip6 mytab {
	set vips {
		type ipv6_addr
		elements = { 2001:db8::100 }
	}

	set neighbor-discovery {
		type icmpv6_type
		flags constant
		elements = { nd-neighbor-solicit,
			     nd-neighbor-advert }
	}

	set vips_link_local {
		type ipv6_addr . iface_index
		elements = { fe80::100 . "eth0" }
	}

	chain out {
		type filter hook output priority filter - 5; policy accept;
		icmpv6 type @neighbor-discovery counter packets 0 bytes 0 accept
		ip6 saddr fe80::/10 counter packets 3 bytes 312 goto out_link_local
		ip6 saddr @vips counter packets 0 bytes 0 drop
	}

	chain in {
		type filter hook input priority filter - 5; policy accept;
		icmpv6 type @neighbor-discovery counter packets 0 bytes 0 accept
		ip6 daddr fe80::/10 counter packets 0 bytes 0 goto in_link_local
		ip6 daddr @vips counter packets 0 bytes 0 drop
	}

	chain in_link_local {
		ip6 daddr . iif @vips_link_local counter packets 0 bytes 0 drop
	}

	chain out_link_local {
		ip6 saddr . oif @vips_link_local counter packets 0 bytes 0 drop
	}
}
`,
};

// keepalived's configurations (global_defs, then instances on eth0):
//  strict: `vrrp_strict`; VI_1 VRID 51 prio 150 VIPs 10.88.0.100/24 10.88.0.101; VI_6 VRID 52 v3 prio 150
//          VIPs fe80::100/64 2001:db8::100/64. "master" = alone; "backup" = after a peer at priority 200.
//  v6:     no strict; VI_6 `no_accept`, VIP 2001:db8::100/64 only (no link-local VIP).
//  opts:   `vrrp_strict`, `nftables mytab`, `nftables_priority -5`, `nftables_ifindex`, `nftables_counters`;
//          VI_1 `state MASTER` prio 255 VIP 10.88.0.100/24 (owner: accepts); VI_2 `accept` VIP 10.88.0.102/24
//          (v2 under strict: "accept mode ... resetting"); VI_3 VIP 10.88.0.103/24; VI_6 as in strict.
const v4 = (address: string): FirewallVip => ({ family: 'inet', address, interface: 'eth0' });
const v6 = (address: string): FirewallVip => ({ family: 'inet6', address, interface: 'eth0' });
const strictInstances = (state: FirewallInstance['state']): FirewallInstance[] => [
  { name: 'VI_1', state, accept: false, vips: [v4('10.88.0.100'), v4('10.88.0.101')] },
  { name: 'VI_6', state, accept: false, vips: [v6('fe80::100'), v6('2001:db8::100')] },
  // an instance in accept mode adds nothing (its VIP stays reachable)
  { name: 'VI_A', state, accept: true, vips: [v4('10.88.0.102')] },
];

let topo: Topology;
let wrapperDir: string;
let nftCommand: string;
const open: NoAcceptFirewall[] = [];

const nftA = (...args: string[]): string => inNs(topo.a, 'nft', ...args);
const listTable = (family: 'ip' | 'ip6', name = 'keepalived'): string => nftA('list', 'table', family, name);
const masked = (s: string): string => s.replace(/counter packets \d+ bytes \d+/g, 'counter');
const fw = async (opts: FirewallOptions = {}): Promise<NoAcceptFirewall> => {
  const f = await NoAcceptFirewall.open({ ...opts, nftCommand });
  open.push(f);
  return f;
};
/** One echo request from B; true when answered. */
const pingFromB = (address: string): boolean =>
  sh('ip', ['netns', 'exec', topo.b, 'ping', '-c1', '-W1', '-n', address], true) !== '';

beforeAll(() => {
  topo = topology('lkn-fw', 44);
  // keepalived's VIPs from the recorded configurations, on A; B gets addresses in the same subnets.
  ipn(topo.a, 'addr', 'add', '10.88.0.100/24', 'dev', 'eth0');
  for (const a of ['10.88.0.101/32', '10.88.0.102/32', '10.88.0.103/32']) ipn(topo.a, 'addr', 'add', a, 'dev', 'eth0');
  for (const a of ['fe80::100/64', '2001:db8::100/64']) ipn(topo.a, 'addr', 'add', a, 'dev', 'eth0', 'nodad');
  ipn(topo.b, 'addr', 'add', '10.88.0.2/24', 'dev', 'eth0');
  ipn(topo.b, 'addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad');
  wrapperDir = mkdtempSync(join(tmpdir(), 'lkn-fw-'));
  nftCommand = join(wrapperDir, 'nft');
  writeFileSync(nftCommand, `#!/bin/sh\nexec ip netns exec ${topo.a} nft "$@"\n`);
  chmodSync(nftCommand, 0o755);
});

afterAll(async () => {
  for (const f of open) await f.close().catch(() => undefined);
  topo?.down();
  if (wrapperDir) rmSync(wrapperDir, { recursive: true, force: true });
});

describe('NoAcceptFirewall (as keepalived 2.2.7 with vrrp_strict / no_accept)', () => {
  let f: NoAcceptFirewall;

  it('open() removes a table left by a killed keepalived, and the VIPs answer without a firewall', async () => {
    sh('sh', ['-c', `ip netns exec ${topo.a} nft -f - <<'X'\n${keepalived['strict-master-ip']}\nX`]);
    expect(pingFromB('10.88.0.100')).toBe(false); // the stale drop rule is effective
    f = await fw();
    expect(nftA('list', 'ruleset')).toBe('');
    expect(pingFromB('10.88.0.100')).toBe(true);
    expect(pingFromB('2001:db8::100')).toBe(true);
    expect(pingFromB('fe80::100%eth0')).toBe(true);
  });

  it('MASTER: the same tables as keepalived', async () => {
    await f.update(strictInstances('MASTER'));
    expect(listTable('ip')).toBe(keepalived['strict-master-ip']);
    expect(listTable('ip6')).toBe(keepalived['strict-master-ip6']);
    await f.update(strictInstances('MASTER')); // idempotent
    expect(listTable('ip')).toBe(keepalived['strict-master-ip']);
  });

  it('MASTER: traffic to no-accept VIPs is dropped, neighbour discovery and accept-mode VIPs still work', () => {
    expect(pingFromB('10.88.0.100')).toBe(false);
    expect(pingFromB('10.88.0.101')).toBe(false);
    expect(pingFromB('10.88.0.102')).toBe(true);
    expect(pingFromB('10.77.44.1')).toBe(true); // the host's own address is untouched
    ipn(topo.b, 'neigh', 'flush', 'dev', 'eth0');
    expect(pingFromB('2001:db8::100')).toBe(false);
    // A answered B's neighbour solicitation for the VIP (the `neighbor-discovery` accept rule)
    expect(ipn(topo.b, '-6', 'neigh', 'show', '2001:db8::100', 'dev', 'eth0')).toMatch(/lladdr/);
    expect(pingFromB('fe80::100%eth0')).toBe(false);
    // sent from a VIP: dropped on output
    expect(sh('ip', ['netns', 'exec', topo.a, 'ping', '-c1', '-W1', '-I', '10.88.0.100', '10.88.0.2'], true)).toBe('');
  });

  it('BACKUP: the sets are emptied, tables and chains stay (as keepalived), traffic passes', async () => {
    await f.update(strictInstances('BACKUP'));
    expect(listTable('ip')).toBe(keepalived['strict-backup-ip']);
    expect(listTable('ip6')).toBe(keepalived['strict-backup-ip6']);
    expect(pingFromB('10.88.0.100')).toBe(true);
    expect(pingFromB('2001:db8::100')).toBe(true);
    expect(pingFromB('fe80::100%eth0')).toBe(true);
  });

  it('recovers when someone deleted its table: the failed update names it, the next one rebuilds', async () => {
    await f.update(strictInstances('MASTER'));
    nftA('delete', 'table', 'ip', 'keepalived');
    await expect(f.update(strictInstances('FAULT'))).rejects.toThrow(/no-accept firewall: updating table "keepalived" failed: /);
    await f.update(strictInstances('MASTER'));
    expect(listTable('ip')).toBe(keepalived['strict-master-ip']);
    expect(listTable('ip6')).toBe(keepalived['strict-master-ip6']);
  });

  it('close() leaves nothing, and later updates do nothing', async () => {
    await f.close();
    expect(nftA('list', 'ruleset')).toBe('');
    await f.update(strictInstances('MASTER'));
    expect(nftA('list', 'ruleset')).toBe('');
    expect(pingFromB('10.88.0.100')).toBe(true);
  });

  it('IPv6 without a link-local VIP: no vips_link_local set and no ip table, as keepalived', async () => {
    const g = await fw();
    await g.update([{ name: 'VI_6', state: 'MASTER', accept: false, vips: [v6('2001:db8::100')] }]);
    expect(listTable('ip6')).toBe(keepalived['v6-master-ip6']);
    expect(nftA('list', 'tables')).toBe('table ip6 keepalived\n');
    await g.close();
    expect(nftA('list', 'ruleset')).toBe('');
  });

  it('nftables NAME, nftables_priority and nftables_counters as keepalived; the address owner accepts', async () => {
    const g = await fw({ table: 'mytab', priority: -5, counters: true });
    await g.update([
      { name: 'VI_1', state: 'MASTER', accept: true, vips: [v4('10.88.0.100')] },
      { name: 'VI_2', state: 'MASTER', accept: false, vips: [v4('10.88.0.102')] },
      { name: 'VI_3', state: 'MASTER', accept: false, vips: [v4('10.88.0.103')] },
      { name: 'VI_6', state: 'MASTER', accept: false, vips: [v6('fe80::100'), v6('2001:db8::100')] },
    ]);
    expect(masked(listTable('ip', 'mytab'))).toBe(masked(keepalived['opts-master-ip']));
    expect(masked(listTable('ip6', 'mytab'))).toBe(masked(keepalived['opts-master-ip6']));
    expect(pingFromB('10.88.0.100')).toBe(true);
    expect(pingFromB('10.88.0.103')).toBe(false);
    expect(listTable('ip', 'mytab')).toMatch(/ip daddr @vips counter packets [1-9]\d* bytes \d+ drop/);
    await g.close();
    expect(nftA('list', 'ruleset')).toBe('');
  });

  it('without nft, open() says what to install', async () => {
    await expect(NoAcceptFirewall.open({ nftCommand: join(wrapperDir, 'missing-nft') })).rejects.toThrow(
      'no-accept firewall: removing stale tables "keepalived" at start failed: the ' +
        `${join(wrapperDir, 'missing-nft')} command was not found (install the nftables package)`,
    );
  });
});
