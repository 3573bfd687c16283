// smtp_alert against a real SMTP server (Debian's python3-aiosmtpd, saving to a Maildir) in a network
// namespace: the built daemon becomes MASTER and a real server goes down and up again; the mails carry
// keepalived's From, To, Subject and body. A server where nothing listens is logged once, and VRRP
// goes on regardless.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, canRun, sh, waitUntil, writeConf } from '../vrrp/helpers.js';

const PYTHON = '/usr/bin/python3';
const haveAiosmtpd = (): boolean => spawnSync(PYTHON, ['-c', 'import aiosmtpd'], { stdio: 'ignore' }).status === 0;
// CI installs python3-aiosmtpd (scripts/setup.sh): there a missing package is a failure, not a skip.
const run = canRun() && (haveAiosmtpd() || process.env.CI === 'true');

const NS = `lksm-${process.pid}`;
let dir: string;
let smtpd: ChildProcess | undefined;
let listener: ChildProcess | undefined;
const daemons: Daemon[] = [];

interface Mail {
  headers: Map<string, string>;
  body: string;
}

/** The messages aiosmtpd's Mailbox handler saved (Maildir new/), oldest first. */
function mails(): Mail[] {
  const d = join(dir, 'maildir', 'new');
  if (!existsSync(d)) return [];
  return readdirSync(d)
    .sort()
    .map((f) => {
      const text = readFileSync(join(d, f), 'utf8').replace(/\r\n/g, '\n');
      const cut = text.indexOf('\n\n');
      const headers = new Map<string, string>();
      for (const line of text.slice(0, cut).split('\n')) {
        const i = line.indexOf(':');
        headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
      }
      return { headers, body: text.slice(cut + 2) };
    });
}

const bySubject = (re: RegExp): Mail | undefined => mails().find((m) => re.test(m.headers.get('subject') ?? ''));

function conf(smtpPort: number, lvs: boolean): string {
  return `global_defs {
  router_id lksm
  notification_email {
    ops@example.com
    oncall@example.com
  }
  notification_email_from lvskeeper@example.com
  smtp_server 127.0.0.1 ${smtpPort}
  smtp_helo_name lb.example.com
  smtp_connect_timeout 2
  smtp_alert
}
vrrp_sync_group G1 {
  group {
    VI_1
  }
}
vrrp_instance VI_1 {
  state BACKUP
  interface eth0
  virtual_router_id 61
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.77.0.100/24
  }
}
${
  lvs
    ? `virtual_server 10.77.0.100 80 {
  delay_loop 1
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 10.77.0.1 8081 {
    weight 1
    TCP_CHECK {
      connect_timeout 1
      retry 0
    }
  }
}
`
    : ''
}`;
}

describe.skipIf(!run)('SMTP alerts to a real SMTP server in a namespace', () => {
  beforeAll(async () => {
    expect(haveAiosmtpd(), 'python3-aiosmtpd is not installed: run scripts/setup.sh').toBe(true);
    sh('ip', ['netns', 'del', NS], true);
    sh('ip', ['netns', 'add', NS]);
    sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    sh('ip', ['-n', NS, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
    sh('ip', ['-n', NS, 'addr', 'add', '10.77.0.1/24', 'dev', 'eth0']);
    sh('ip', ['-n', NS, 'link', 'set', 'eth0', 'up']);
    sh('ip', ['-n', NS, 'link', 'set', 'eth1', 'up']);
    dir = mkdtempSync(join(tmpdir(), 'lksm-'));
    smtpd = spawn('ip', ['netns', 'exec', NS, PYTHON, '-m', 'aiosmtpd', '-n', '-l', '127.0.0.1:2525', '-c', 'aiosmtpd.handlers.Mailbox', join(dir, 'maildir')], {
      stdio: 'ignore',
    });
    // Listening once a connection succeeds.
    await waitUntil(
      () => spawnSync('ip', ['netns', 'exec', NS, 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/2525'], { stdio: 'ignore' }).status === 0,
      15_000,
      'aiosmtpd listening',
    );
  }, 30_000);

  afterAll(async () => {
    for (const d of daemons) await d.stop();
    listener?.kill();
    smtpd?.kill();
    sh('ip', ['netns', 'del', NS], true);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('MASTER, group MASTER, real server DOWN then UP: keepalived headers and bodies, one envelope per mail', async () => {
    const d = Daemon.lvskeeper('sm1', NS, writeConf(dir, 'sm1.conf', conf(2525, true)), dir);
    daemons.push(d);
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 20_000);

    await waitUntil(() => bySubject(/VRRP Instance VI_1 - Entering MASTER state/) !== undefined, 15_000, 'the MASTER mail');
    const master = bySubject(/VRRP Instance VI_1 - Entering MASTER state/)!;
    expect(master.headers.get('subject')).toBe('[lksm] VRRP Instance VI_1 - Entering MASTER state');
    expect(master.headers.get('from')).toBe('lvskeeper@example.com');
    expect(master.headers.get('to')).toBe('ops@example.com, oncall@example.com');
    expect(master.headers.get('x-mailer')).toBe('Keepalived');
    expect(master.headers.get('date')).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/);
    // aiosmtpd records the envelope: MAIL FROM and every RCPT TO.
    expect(master.headers.get('x-mailfrom')).toBe('lvskeeper@example.com');
    expect(master.headers.get('x-rcptto')).toBe('ops@example.com, oncall@example.com');
    expect(master.body.trim()).toBe('=> VRRP Instance is now owning VRRP VIPs <=');

    await waitUntil(() => bySubject(/VRRP Group G1 - Entering MASTER state/) !== undefined, 15_000, 'the group MASTER mail');
    expect(bySubject(/VRRP Group G1 - Entering MASTER state/)!.body.trim()).toBe('=> All VRRP group instances are now in MASTER state <=');

    // Nothing listens on the real server's port: its TCP_CHECK fails and the real server goes DOWN.
    const down = /^\[lksm\] Realserver \[10\.77\.0\.1\]:tcp:8081 of virtual server \[10\.77\.0\.100\]:tcp:80 - DOWN$/;
    await waitUntil(() => bySubject(down) !== undefined, 20_000, 'the real server DOWN mail');
    const rsDown = bySubject(down)!;
    expect(rsDown.body.trim()).toBe('=> TCP CHECK failed on service <=');
    expect(rsDown.headers.get('to')).toBe('ops@example.com, oncall@example.com');

    // It starts listening: UP.
    listener = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', `require('net').createServer((s) => s.end()).listen(8081, '10.77.0.1')`], { stdio: 'ignore' });
    const up = /^\[lksm\] Realserver \[10\.77\.0\.1\]:tcp:8081 of virtual server \[10\.77\.0\.100\]:tcp:80 - UP$/;
    await waitUntil(() => bySubject(up) !== undefined, 20_000, 'the real server UP mail');
    expect(bySubject(up)!.body.trim()).toBe('=> TCP CHECK succeed on service <=');

    if (process.env.LKV_VERBOSE) process.stderr.write(`${mails().map((m) => m.headers.get('subject')).join('\n')}\n`);
    // One mail per state: no second MASTER mail while it stays MASTER.
    expect(mails().filter((m) => /VI_1 - Entering MASTER state/.test(m.headers.get('subject') ?? ''))).toHaveLength(1);
    expect(d.has(/SMTP connection ERROR|Timeout .*SMTP/)).toBe(false);

    await d.stop();
    // At stop the instance and the group say so (sent before the daemon exits).
    expect(bySubject(/^\[lksm\] VRRP Instance VI_1 - Stopping$/)?.body.trim()).toBe('=> VRRP Instance stopping <=');
  }, 90_000);

  it('a server where nothing listens: still MASTER, the failure logged once for several alerts', async () => {
    const d = Daemon.lvskeeper('sm2', NS, writeConf(dir, 'sm2.conf', conf(2599, false)), dir);
    daemons.push(d);
    await d.waitFor(/\(VI_1\) Entering MASTER STATE/, 20_000);
    await d.waitFor(/VRRP_Group\(G1\) Entering MASTER STATE/, 10_000);
    // The instance's and the group's MASTER alerts (and BACKUP at start) have all been tried by now.
    await waitUntil(() => d.count(/SMTP alert not sent \(server still failing\): SMTP connection ERROR to \[127\.0\.0\.1\]:2599\./) >= 1, 10_000, 'a second alert tried');
    const failures = d.lines.filter((l) => /SMTP connection ERROR to \[127\.0\.0\.1\]:2599\./.test(l.text) && !/not sent/.test(l.text));
    expect(failures, d.lines.map((l) => l.text).join('\n')).toHaveLength(1);
    expect(d.has(/\(VI_1\) Entering MASTER STATE/)).toBe(true);
    await d.stop();
  }, 60_000);
});
