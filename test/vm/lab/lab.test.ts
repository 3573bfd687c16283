// End-to-end: two lvskeeper daemons (lb1 MASTER, lb2 BACKUP; config/lb01.conf and lb02.conf adapted)
// in network namespaces of the kernel VM, real servers and a client, real IPVS. The tests run in order
// and share the lab: DR (traffic, real server failure and return, inhibit_on_failure, quorum + sorry
// server + alpha + HTTP_GET digest/status_code, MISC_CHECK misc_dynamic, bad input, failover both ways,
// kill -9 and restart), then NAT (traffic, real server failure and return, failover).
//
//   sh scripts/in-vm.sh npx vitest run --dir test/vm/lab --no-file-parallelism
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoiseMonitor } from '../../helpers/timing.js';
import { killAllAtOnce } from '../../processes.js';
import {
  ROOT,
  VIP,
  dests,
  hasService,
  ipvs,
  ns,
  requests,
  failed,
  captureBridge,
  IP,
  rsNat,
  script,
  sh,
  startHttpd,
  startLb,
  topoDown,
  topoUp,
  until,
  type Proc,
} from './lab.js';

function haveLab(): boolean {
  try {
    sh('ip netns list >/dev/null && ipvsadm -Ln >/dev/null && test -x /bin/busybox');
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}
const inVm = process.env.KERNEL_VM === '1' || process.env.LVSKEEPER_LAB === '1';
const run = inVm && haveLab();

const WEB1 = 'This is web1\n';
const WEB2 = 'This is web2\n';
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

let dir = '';
const procs: Proc[] = [];
const httpd: Record<string, Proc | undefined> = {};

function track<T extends Proc>(p: T): T {
  procs.push(p);
  return p;
}

/** config/lb0N.conf for the lab: interface eth0, a trivially succeeding lvs_check, fast timers. */
function labConfig(node: 'lb1' | 'lb2', kind: 'DR' | 'NAT', extras: boolean): string {
  const base = readFileSync(join(ROOT, 'config', node === 'lb1' ? 'lb01.conf' : 'lb02.conf'), 'utf8');
  let c = base
    .replace('interface ens33', 'interface eth0')
    .replace('script "/etc/keepalived/lvs_check.sh"', `script "${join(dir, 'ok.sh')}"`)
    // the emulated VM is slow to fork under load: a 1 s vrrp_script timeout flaps the instance
    .replace(/interval 1\n/, 'interval 2\n    timeout 15\n')
    .replace(/advert_int 1\n/, 'advert_int 2\n')
    .replace(/delay_loop 6/g, 'delay_loop 1')
    .replace(/connect_timeout 3/g, 'connect_timeout 1')
    .replace(/delay_before_retry 3/g, 'delay_before_retry 1')
    .replace(/lb_kind DR/g, `lb_kind ${kind}`)
    .replace(
      /global_defs \{/,
      `global_defs {\n    script_user root\n    lvs_sync_daemon eth0 VI_1 id 51\n    lvs_notify_fifo ${join(dir, `${node}.fifo`)}`,
    )
    .replace(
      'real_server 192.168.60.121 8080 {',
      `real_server 192.168.60.121 8080 {\n        notify_up "${join(dir, 'note.sh')} ${node} rs1-up"\n        notify_down "${join(dir, 'note.sh')} ${node} rs1-down"`,
    );
  expect(c).toContain('interface eth0');
  expect(c).toContain('ok.sh');
  if (!extras) return c;
  c += `
virtual_server ${VIP} 8081 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    inhibit_on_failure
    real_server 192.168.60.121 8081 {
        weight 1
        TCP_CHECK {
            connect_port 8080
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 192.168.60.122 8081 {
        weight 1
        TCP_CHECK {
            connect_port 8080
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}

virtual_server 10.60.0.1 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    alpha
    quorum 2
    sorry_server 192.168.60.50 80
    quorum_up "${join(dir, 'note.sh')} ${node} quorum-up"
    quorum_down "${join(dir, 'note.sh')} ${node} quorum-down"
    real_server 192.168.60.121 8080 {
        weight 1
        HTTP_GET {
            url {
                path /
                digest ${md5(WEB1)}
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 192.168.60.122 8080 {
        weight 1
        HTTP_GET {
            url {
                path /
                digest ${md5(WEB2)}
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}

virtual_server 10.60.0.2 80 {
    delay_loop 1
    lb_algo wlc
    lb_kind NAT
    protocol TCP
    real_server 192.168.60.121 80 {
        weight 1
        MISC_CHECK {
            misc_path "${join(dir, 'exit5.sh')}"
            misc_timeout 10
            misc_dynamic
        }
    }
    real_server 192.168.60.122 80 {
        weight 1
        MISC_CHECK {
            misc_path "${join(dir, 'hang.sh')}"
            misc_timeout 2
        }
    }
    real_server 192.168.60.99 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 192.168.60.122 8080 {
        weight 1
        HTTP_GET {
            url {
                path /
                status_code 201
            }
            connect_timeout 1
            retry 0
        }
    }
}

virtual_server 10.60.0.3 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.60.121 8080 {
        weight 1
    }
}
`;
  return c;
}

function notes(): string[] {
  try {
    return readFileSync(join(dir, 'notes'), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

function fifo(node: 'lb1' | 'lb2'): string {
  try {
    return readFileSync(join(dir, `${node}.fifo`), 'utf8');
  } catch {
    return '';
  }
}

const S8080 = `TCP ${VIP}:8080`;
const S8081 = `TCP ${VIP}:8081`;
const RS1 = '192.168.60.121:8080';
const RS2 = '192.168.60.122:8080';
let lb1: Proc;
let lb2: Proc;

describe.skipIf(!run)('seed lab in the kernel VM', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lkl-'));
    script(dir, 'ok.sh', 'exit 0');
    script(dir, 'note.sh', `echo "$*" >> ${join(dir, 'notes')}`);
    script(dir, 'exit5.sh', 'exit 5');
    script(dir, 'hang.sh', 'exec sleep 30');
    // lvs_notify_fifo on a regular file: lines are appended (readable after the fact)
    for (const n of ['lb1', 'lb2']) writeFileSync(join(dir, `${n}.fifo`), '');
    topoUp();
    httpd.rs1 = track(startHttpd(dir, 'rs1', 8080, WEB1));
    httpd.rs2 = track(startHttpd(dir, 'rs2', 8080, WEB2));
    track(startHttpd(dir, 'rs1', 8081, WEB1));
    track(startHttpd(dir, 'rs2', 8081, WEB2));
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop('SIGKILL', 1000)));
    topoDown();
    // keep the daemons' logs and configs, and the NAT test's bridge capture, for a look after the VM is gone (tmp/ is git-ignored)
    const keep = join(ROOT, 'tmp', 'lkl-logs');
    rmSync(keep, { recursive: true, force: true });
    mkdirSync(keep, { recursive: true });
    for (const f of readdirSync(dir)) if (/\.(log|conf|fifo|pcapng)$|^notes$/.test(f)) copyFileSync(join(dir, f), join(keep, f));
    if (dir && !process.env.LKL_KEEP) rmSync(dir, { recursive: true, force: true });
    else if (dir) console.log(`lab files kept in ${dir}`);
  });

  it('DR: lb1 MASTER programs the VIP services, lb2 only the others; 20 requests answered by both real servers', async () => {
    lb1 = track(startLb(dir, 'lb1', labConfig('lb1', 'DR', true), 'dr'));
    lb2 = track(startLb(dir, 'lb2', labConfig('lb2', 'DR', true), 'dr'));
    await until('lb1 has the VIP service with both real servers', () => dests('lb1', S8080).length === 2, 150_000);
    expect(dests('lb1', S8080)).toEqual([`${RS1} Route 1`, `${RS2} Route 1`]);
    expect(dests('lb1', S8081)).toEqual(['192.168.60.121:8081 Route 1', '192.168.60.122:8081 Route 1']);
    expect(ns('lb1', 'ip -4 addr show dev eth0')).toContain(VIP);
    // the backup runs the same checks but does not program the VIP's services
    await until('lb2 programs its non-VIP services', () => hasService('lb2', 'TCP 10.60.0.3:80'), 60_000);
    expect(hasService('lb2', S8080)).toBe(false);
    expect(hasService('lb2', S8081)).toBe(false);
    expect(lb2.log()).toContain(`Activating healthchecker for service [192.168.60.121]:tcp:8080 for VS [${VIP}]:tcp:8080`);
    // lvs_sync_daemon follows VI_1
    await until('sync daemons', () => /master sync daemon/.test(ns('lb1', 'ipvsadm -L --daemon')) && /backup sync daemon/.test(ns('lb2', 'ipvsadm -L --daemon')), 10_000);
    expect(ns('lb1', 'ipvsadm -L --daemon')).toMatch(/master sync daemon \(mcast=eth0, syncid=51[,)]/);

    const bodies = requests(20);
    expect(bodies.length).toBe(20);
    expect(failed(bodies)).toEqual([]);
    expect(new Set(bodies)).toEqual(new Set(['This is web1', 'This is web2']));
  }, 240_000);

  it('HTTP_GET digest/status_code + alpha + quorum with sorry server; MISC_CHECK misc_dynamic; bad input logged, no crash', async () => {
    // alpha: starts with quorum down and the sorry server; both digests match -> quorum gained
    await until('quorum gained on lb1', () => dests('lb1', 'TCP 10.60.0.1:80').length === 2, 40_000);
    expect(dests('lb1', 'TCP 10.60.0.1:80')).toEqual([`${RS1} Masq 1`, `${RS2} Masq 1`]);
    expect(lb1.log()).toContain('Starting with quorum down 2-0=2 > 0 for VS [10.60.0.1]:tcp:80');
    expect(lb1.log()).toContain('Adding sorry server [192.168.60.50]:tcp:80 to VS [10.60.0.1]:tcp:80');
    expect(lb1.log()).toContain('Gained quorum 2+0=2 <= 2 for VS [10.60.0.1]:tcp:80');
    expect(lb1.log()).toContain('Removing sorry server [192.168.60.50]:tcp:80 from VS [10.60.0.1]:tcp:80');
    await until('quorum_up script ran', () => notes().includes('lb1 quorum-up'), 10_000);

    // MISC_CHECK: exit 5 with misc_dynamic -> weight 3; a hanging script is killed at misc_timeout;
    // an unreachable address and a wrong status code take their real servers out.
    await until('10.60.0.2 settles', () => dests('lb1', 'TCP 10.60.0.2:80').join('|') === '192.168.60.121:80 Masq 3', 40_000);
    const log = lb1.log();
    expect(log).toContain('Changing weight from 1 to 3 for active service [192.168.60.121]:tcp:80 of VS [10.60.0.2]:tcp:80');
    expect(log).toMatch(/Misc check for \[\[192\.168\.60\.122\]:tcp:80\] by \[.*hang\.sh\] timed out/);
    expect(log).toContain('Removing service [192.168.60.122]:tcp:80 from VS [10.60.0.2]:tcp:80');
    expect(log).toContain('Removing service [192.168.60.99]:tcp:80 from VS [10.60.0.2]:tcp:80');
    expect(log).toContain('Removing service [192.168.60.122]:tcp:8080 from VS [10.60.0.2]:tcp:80');
    // DR real server port differing from the VS port: keepalived's warning, port reset
    expect(log).toContain("WARNING - virtual server [10.60.0.3]:tcp:80 and real server [192.168.60.121]:tcp:8080 ports don't match - resetting");
    expect(dests('lb1', 'TCP 10.60.0.3:80')).toEqual(['192.168.60.121:80 Route 1']);
    // the hanging MISC script does not pile up: at most one sleep per node at a time
    expect(Number(ns('lb1', `pgrep -fc '^sleep 30$' || true`).trim() || '0')).toBeLessThanOrEqual(2);
    expect(lb1.running && lb2.running).toBe(true);
  }, 120_000);

  it('DR: rs1 down leaves IPVS when its retries run out (removed, or weight 0 with inhibit_on_failure); all requests on rs2; back again', async () => {
    const noise = NoiseMonitor.start();
    await httpd.rs1!.stop();
    const POLL_MS = 100;
    const took = await until('rs1 removed on lb1', () => !dests('lb1', S8080).some((d) => d.startsWith(RS1)), 60_000, POLL_MS);
    // The checker's schedule for rs1 on VS :8080 (TCP_CHECK; labConfig delay_loop 1, connect_timeout 1,
    // delay_before_retry 1; config/lb01.conf's nb_get_retry is unknown to 2.2.7, so TCP_CHECK's default
    // retry 1 applies): its first failing check within delay_loop, then
    // `retry` more failures delay_before_retry apart, each taking at most connect_timeout, and it is down
    // (keepalived's check_tcp.c; src/check/state.ts). Beyond that, only this run's scheduling noise and the poll.
    const [DELAY_LOOP, RETRY, CONNECT_TIMEOUT, DELAY_BEFORE_RETRY] = [1000, 1, 1000, 1000];
    const due = DELAY_LOOP + (RETRY + 1) * CONNECT_TIMEOUT + RETRY * DELAY_BEFORE_RETRY;
    const margin = await noise.margin({ daemonLogs: lb1.log().split('\n') });
    const why = `rs1 left lb1's IPVS table ${took} ms after its server stopped (due within ${due} ms + the ${POLL_MS} ms poll); ${margin.text}`;
    console.log(why);
    expect(took, why).toBeLessThanOrEqual(due + POLL_MS + margin.ms);
    // ... and it went down because its retries ran out, not for another reason.
    expect(lb1.log()).toContain(`TCP_CHECK on service [192.168.60.121]:tcp:8080 failed after ${RETRY} retries.`);
    expect(dests('lb1', S8080)).toEqual([`${RS2} Route 1`]);
    await until('rs1 inhibited on 8081', () => dests('lb1', S8081).includes('192.168.60.121:8081 Route 0'), 5000, 100);
    expect(dests('lb1', S8081)).toEqual(['192.168.60.121:8081 Route 0', '192.168.60.122:8081 Route 1']);
    // quorum lost on 10.60.0.1: only the sorry server
    await until('sorry server', () => dests('lb1', 'TCP 10.60.0.1:80').join('|') === '192.168.60.50:80 Masq 1', 10_000, 100);
    const bodies = requests(10);
    expect(bodies).toEqual(Array(10).fill('This is web2'));
    const inhibited = requests(10, 8081);
    expect(inhibited).toEqual(Array(10).fill('This is web2'));
    expect(lb1.log()).toContain(`Removing service [192.168.60.121]:tcp:8080 from VS [${VIP}]:tcp:8080`);
    expect(lb1.log()).toContain(`Disabling service [192.168.60.121]:tcp:8081 of VS [${VIP}]:tcp:8081`);
    expect(lb1.log()).toContain('Lost quorum 2-0=2 > 1 for VS [10.60.0.1]:tcp:80');
    // the backup checks too
    await until('lb2 saw rs1 down', () => lb2.log().includes(`Removing service [192.168.60.121]:tcp:8080 from VS [${VIP}]:tcp:8080`), 5000);
    await until('notify_down + FIFO', () => notes().includes('lb1 rs1-down') && fifo('lb1').includes(`RS [192.168.60.121]:tcp:8080 [${VIP}]:tcp:8080 DOWN`), 5000);
    expect(notes()).toContain('lb1 quorum-down');
    expect(fifo('lb1')).toContain('VS [10.60.0.1]:tcp:80 DOWN');

    httpd.rs1 = track(startHttpd(dir, 'rs1', 8080, WEB1));
    await until('rs1 back on lb1', () => dests('lb1', S8080).length === 2, 10_000, 100);
    expect(dests('lb1', S8080)).toEqual([`${RS1} Route 1`, `${RS2} Route 1`]);
    await until('rs1 enabled on 8081', () => dests('lb1', S8081).includes('192.168.60.121:8081 Route 1'), 5000, 100);
    await until('quorum back', () => dests('lb1', 'TCP 10.60.0.1:80').length === 2, 10_000, 100);
    await until('notify_up', () => notes().includes('lb1 rs1-up'), 5000);
    const after = requests(20);
    expect(failed(after)).toEqual([]);
    expect(new Set(after)).toEqual(new Set(['This is web1', 'This is web2']));
  }, 240_000);

  it('SIGHUP on lb1: an unchanged file touches nothing; a weight change is edited in place; a removed virtual server goes, and comes back', async () => {
    const conf = join(dir, 'lb1-dr.conf');
    const original = readFileSync(conf, 'utf8');
    // Connection counters survive an edit but not a delete + add: they show what the reload did.
    const conns = (): number[] =>
      ns('lb1', `ipvsadm -Ln --stats -t ${VIP}:8080`)
        .split('\n')
        .filter((l) => l.trim().startsWith('->') && !l.includes('RemoteAddress'))
        .map((l) => Number(l.trim().split(/\s+/)[2]));
    const reload = async (): Promise<string> => {
      const from = lb1.log().length;
      process.kill(lb1.child.pid!, 'SIGHUP');
      await until('lb1 reload done', () => /Reload complete|Reload aborted/.test(lb1.log().slice(from)), 60_000, 200);
      return lb1.log().slice(from);
    };
    requests(10);
    const before = conns();
    expect(before.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    const table = ipvs('lb1');

    const unchanged = await reload();
    expect(unchanged).toContain('Reload complete');
    expect(unchanged).not.toMatch(/Entering|removing VIPs|Removing service|Adding service|Changing weight/);
    expect(ipvs('lb1')).toEqual(table);
    expect(conns().every((c, i) => c >= before[i]!)).toBe(true);

    writeFileSync(conf, original.replace(/(real_server 192\.168\.60\.122 8080 \{[^}]*?weight )1/, '$13'));
    const weight = await reload();
    expect(weight).toContain('Reload complete');
    await until('rs2 weight 3', () => dests('lb1', S8080).includes(`${RS2} Route 3`), 20_000, 200);
    expect(conns().every((c, i) => c >= before[i]!)).toBe(true);
    expect(weight).not.toMatch(/Entering|removing VIPs/);

    writeFileSync(conf, original.replace(/virtual_server \S+ 8081 \{[\s\S]*?\n\}\n/, ''));
    expect(readFileSync(conf, 'utf8')).not.toContain(' 8081 {');
    await reload();
    await until('the 8081 service removed', () => !hasService('lb1', S8081), 20_000, 200);
    expect(hasService('lb1', S8080)).toBe(true);

    writeFileSync(conf, original);
    await reload();
    await until('8081 back, rs2 weight 1 again', () => dests('lb1', S8081).length === 2 && dests('lb1', S8080).includes(`${RS2} Route 1`), 30_000, 200);
    expect(lb1.log()).not.toMatch(/Entering FAULT|child process\(\d+\) died/);
    expect(lb1.running && lb2.running).toBe(true);
  }, 240_000);

  it('DR: lb1 link down -> lb2 takes the VIP and installs the services; lb1 back -> preempts, lb2 removes them', async () => {
    ns('lb1', 'ip link set eth0 down');
    try {
      await until('lb2 installs the VIP service', () => dests('lb2', S8080).length === 2, 40_000, 200);
      expect(dests('lb2', S8080)).toEqual([`${RS1} Route 1`, `${RS2} Route 1`]);
      expect(ns('lb2', 'ip -4 addr show dev eth0')).toContain(VIP);
      await until('lb1 removed the VIP service', () => !hasService('lb1', S8080), 10_000);
      expect(hasService('lb1', 'TCP 10.60.0.3:80')).toBe(true); // not a VIP: stays
      const bodies = requests(20);
      expect(failed(bodies)).toEqual([]);
      expect(new Set(bodies)).toEqual(new Set(['This is web1', 'This is web2']));
      await until('lb2 sync daemon master', () => /master sync daemon/.test(ns('lb2', 'ipvsadm -L --daemon')), 10_000);
    } finally {
      ns('lb1', 'ip link set eth0 up');
    }
    await until('lb1 preempts and installs', () => dests('lb1', S8080).length === 2, 60_000, 200);
    await until("lb2's VIP entries are gone", () => !hasService('lb2', S8080) && !hasService('lb2', S8081), 40_000, 200);
    expect(hasService('lb2', 'TCP 10.60.0.3:80')).toBe(true);
    const again = requests(20);
    expect(failed(again)).toEqual([]);
    expect(new Set(again)).toEqual(new Set(['This is web1', 'This is web2']));
  }, 240_000);

  it('kill -9 lb1: stale entries stay; restarted, it adopts its own, leaves foreign ones, and at stop removes only its own', async () => {
    // The whole daemon at once, as `systemctl kill -s KILL` or the OOM killer of its cgroup would (a
    // parent killed alone lets its children stop cleanly).
    const pids = [join(dir, 'lb1.pid'), join(dir, 'lb1-vrrp.pid'), join(dir, 'lb1-checkers.pid')].map((f) => Number(readFileSync(f, 'utf8').trim()));
    killAllAtOnce(pids);
    await lb1.stop('SIGKILL');
    expect(hasService('lb1', S8080)).toBe(true); // left behind, as keepalived (#2361)
    ns('lb1', 'ipvsadm -A -t 10.99.0.1:80 -s rr && ipvsadm -a -t 10.99.0.1:80 -r 10.99.0.2:80 -m -w 5');
    await until('lb2 takes over', () => dests('lb2', S8080).length === 2, 40_000, 200);
    lb1 = track(startLb(dir, 'lb1', labConfig('lb1', 'DR', true), 'dr2'));
    // The stale VIP and entries satisfy any table check at once: wait for the new daemon's own MASTER.
    await until('lb1 MASTER again', () => /\(VI_1\) Entering MASTER STATE/.test(lb1.log()), 150_000, 200);
    await until('lb1 MASTER with a full pool', () => dests('lb1', S8080).length === 2 && ns('lb1', 'ip -4 addr show dev eth0').includes(VIP), 40_000, 200);
    await until("lb2's VIP entries are gone", () => !hasService('lb2', S8080), 40_000, 200);
    expect(dests('lb1', 'TCP 10.99.0.1:80')).toEqual(['10.99.0.2:80 Masq 5']);
    const bodies = requests(20);
    expect(failed(bodies)).toEqual([]);

    expect(await lb1.stop()).toBe(0);
    expect(await lb2.stop()).toBe(0);
    // ours removed at stop, the foreign service untouched
    expect(ipvs('lb1')).toEqual(['TCP 10.99.0.1:80 rr', '-> 10.99.0.2:80 Masq 5']);
    expect(ipvs('lb2')).toEqual([]);
    expect(ns('lb1', 'ipvsadm -L --daemon').trim()).toBe('');
    ns('lb1', 'ipvsadm -C');
  }, 300_000);

  it('NAT: traffic through the master, rs1 out and back, failover to lb2', async () => {
    // left running if the previous test failed; not started when this test runs alone (-t NAT)
    await Promise.all([(lb1 as Proc | undefined)?.stop(), (lb2 as Proc | undefined)?.stop()]);
    ns('lb1', 'ipvsadm -C');
    ns('lb2', 'ipvsadm -C');
    rsNat('rs1');
    rsNat('rs2');
    // A bridge capture explains an unanswered request (CI once saw 2 of 10 time out at connect).
    const pcap = captureBridge(dir, 'nat');
    track(pcap.proc);
    const explain = (bodies: string[]): void => {
      if (!failed(bodies).length) return;
      console.log(`${new Date().toISOString()} failed: ${failed(bodies).join('; ')}`);
      for (const n of ['cl', 'rs1', 'rs2', 'lb1', 'lb2'] as const) console.log(`${n} neigh:\n${ns(n, 'ip neigh')}`);
      console.log(`lb1 connections:\n${ns('lb1', 'ipvsadm -Lnc')}`);
      console.log(pcap.summary(`arp || (tcp.port == 8080 && ip.addr == ${IP.cl})`));
    };
    lb1 = track(startLb(dir, 'lb1', labConfig('lb1', 'NAT', false), 'nat'));
    lb2 = track(startLb(dir, 'lb2', labConfig('lb2', 'NAT', false), 'nat'));
    await until('lb1 NAT service', () => dests('lb1', S8080).length === 2, 150_000, 200);
    expect(dests('lb1', S8080)).toEqual([`${RS1} Masq 1`, `${RS2} Masq 1`]);
    expect(hasService('lb2', S8080)).toBe(false);
    const bodies = requests(20);
    explain(bodies);
    expect(failed(bodies)).toEqual([]);
    expect(new Set(bodies)).toEqual(new Set(['This is web1', 'This is web2']));

    // LAB_NAT_CYCLES=N repeats rs1 out and back N times (to reproduce intermittent failures)
    for (let cycle = Number(process.env.LAB_NAT_CYCLES ?? 1); cycle > 0; cycle--) {
      await httpd.rs1!.stop();
      await until('rs1 removed', () => dests('lb1', S8080).length === 1, 10_000, 100);
      const onRs2 = requests(10);
      explain(onRs2);
      expect(onRs2).toEqual(Array(10).fill('This is web2'));
      httpd.rs1 = track(startHttpd(dir, 'rs1', 8080, WEB1));
      await until('rs1 back', () => dests('lb1', S8080).length === 2, 10_000, 100);
    }

    expect(await lb1.stop()).toBe(0);
    await until('lb2 NAT service', () => dests('lb2', S8080).length === 2, 40_000, 200);
    expect(hasService('lb1', S8080)).toBe(false);
    await until('client through lb2', () => !requests(1)[0]!.startsWith('FAIL'), 10_000, 500);
    const via2 = requests(20);
    explain(via2);
    expect(failed(via2)).toEqual([]);
    expect(new Set(via2)).toEqual(new Set(['This is web1', 'This is web2']));
    expect(await lb2.stop()).toBe(0);
    expect(ipvs('lb2')).toEqual([]);
  }, 360_000);
});
