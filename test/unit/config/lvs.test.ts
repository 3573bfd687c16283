import { describe, expect, it } from 'vitest';
import { messages, parseText } from './helpers.js';

const vsText = (body: string, head = '10.0.0.1 80') => `virtual_server ${head} {\n${body}\n}\n`;
const rs = (body: string, addr = '10.0.1.1 80') => ` real_server ${addr} {\n${body}\n }`;

describe('virtual_server defaults', () => {
  it('missing protocol, lb_algo and lb_kind: warnings, then UDP, wlc, NAT', () => {
    const r = parseText(vsText(rs('')));
    expect(r.config.virtualServers[0]).toMatchObject({ protocol: 'udp', scheduler: 'wlc', forwardMethod: 'masq', delayLoopMs: 60000, connectTimeoutMs: 5000, quorum: 1, hysteresis: 0 });
    expect(messages(r)).toEqual([
      'Virtual server [10.0.0.1]:none:80: no protocol set - defaulting to UDP',
      "Virtual server [10.0.0.1]:udp:80: no scheduler set, setting default 'wlc'",
      'Virtual server [10.0.0.1]:udp:80: no forwarding method set, setting default NAT',
    ]);
  });
  it('reads the keywords (aliases lvs_sched / lvs_method, tunnels, sorry server, flags)', () => {
    const r = parseText(
      vsText(
        [
          ' delay_loop 6',
          ' lvs_sched sh',
          ' lvs_method TUN type gue port 6080',
          ' protocol TCP',
          ' persistence_timeout',
          ' persistence_granularity 255.255.255.0',
          ' sh-port',
          ' sh-fallback',
          ' sorry_server 10.0.2.1 8080',
          ' sorry_server_inhibit',
          ' quorum 2',
          ' hysteresis 1',
          ' quorum_up "/bin/up x"',
          ' alpha',
          ' omega',
          ' ha_suspend',
          ' virtualhost www.example.com',
          rs(' weight 2'),
          rs(' weight 3', '10.0.1.2 80'),
        ].join('\n'),
      ),
    );
    expect(messages(r)).toEqual([]);
    expect(r.config.virtualServers[0]).toMatchObject({
      delayLoopMs: 6000,
      scheduler: 'sh',
      forwardMethod: 'tunnel',
      tunnel: { type: 'gue', port: 6080 },
      protocol: 'tcp',
      persistenceTimeout: 360,
      persistenceGranularity: '255.255.255.0',
      schedFlag1: true,
      schedFlag2: true,
      sorryServer: { address: '10.0.2.1', port: 8080, inhibit: true, forwardMethod: 'tunnel' },
      quorum: 2,
      hysteresis: 1,
      quorumUp: { command: '/bin/up x' },
      alpha: true,
      omega: true,
      haSuspend: true,
      virtualhost: 'www.example.com',
    });
  });
  it('port 0 without persistence forces 360 s; invalid scheduler / method / protocol are reported', () => {
    const r = parseText(vsText(' lb_algo bogus\n lb_kind FOO\n protocol XYZ\n' + rs(''), '10.0.0.2 0'));
    expect(messages(r)).toEqual(
      expect.arrayContaining([
        "Invalid lvs_scheduler 'bogus' - ignoring",
        'PARSER : unknown [FOO] routing method for virtual server.',
        'Unknown protocol XYZ - ignoring',
        'Virtual server [10.0.0.2]:udp:0: zero port only valid for persistent services - setting',
      ]),
    );
    expect(r.config.virtualServers[0]!.persistenceTimeout).toBe(360);
  });
  it('sorry_server_inhibit before sorry_server: reported as keepalived does, and applied (keepalived drops it)', () => {
    const base = ' protocol TCP\n lb_algo rr\n lb_kind NAT\n';
    const early = parseText(vsText(`${base} sorry_server_inhibit\n sorry_server 10.0.2.1 8080\n${rs('')}`));
    expect(early.config.virtualServers[0]!.sorryServer).toMatchObject({ address: '10.0.2.1', inhibit: true });
    expect(early.diagnostics).toContainEqual(
      expect.objectContaining({ severity: 'warning', line: 5, message: expect.stringMatching(/^Ignoring sorry_server inhibit used before or without sorry_server \(keepalived 2\.2\.7\); lvskeeper applies it/) as unknown }),
    );
    const without = parseText(vsText(`${base} sorry_server_inhibit\n${rs('')}`));
    expect(without.diagnostics).toContainEqual(expect.objectContaining({ severity: 'error', line: 5, message: 'Ignoring sorry_server inhibit used before or without sorry_server' }));
  });

  it('fwmark services ignore protocol with a warning', () => {
    const r = parseText(vsText(' lb_algo rr\n lb_kind DR\n protocol TCP\n' + rs('', '10.0.1.1'), 'fwmark 5'));
    expect(messages(r)).toEqual(['Warning: Virtual server FWM 5: protocol specified for fwmark - protocol will be ignored']);
    expect(r.config.virtualServers[0]!.key).toEqual({ kind: 'fwmark', fwmark: 5 });
  });
  it('removes a duplicate real server with a warning', () => {
    const r = parseText(vsText(' lb_algo rr\n lb_kind NAT\n protocol TCP\n' + rs('') + '\n' + rs(' weight 5')));
    expect(r.config.virtualServers[0]!.realServers).toHaveLength(1);
    expect(messages(r)).toEqual(['VS [10.0.0.1]:tcp:80: real server [10.0.1.1]:tcp:80 is duplicated - removing second rs']);
  });
  it('a virtual server without real servers is dropped', () => {
    const r = parseText(vsText(' lb_algo rr\n lb_kind NAT\n protocol TCP'));
    expect(r.config.virtualServers).toEqual([]);
    expect(messages(r)).toEqual(['Virtual server [10.0.0.1]:tcp:80 has no real servers - ignoring']);
  });
  it('DR real servers get the virtual server port', () => {
    const r = parseText(vsText(' lb_algo rr\n lb_kind DR\n protocol TCP\n' + rs('', '10.0.1.1 8080')));
    expect(r.config.virtualServers[0]!.realServers[0]!.port).toBe(80);
    expect(messages(r)[0]).toMatch(/ports don't match - resetting/);
  });
});

describe('real servers and checkers: inheritance and per-checker defaults', () => {
  const base = ' lb_algo rr\n lb_kind NAT\n protocol TCP\n';
  it('real server defaults: weight 1, VS port, VS method, smtp_alert on', () => {
    const s = parseText(vsText(base + rs('', '10.0.1.1'))).config.virtualServers[0]!.realServers[0]!;
    expect(s).toMatchObject({ address: '10.0.1.1', port: 80, weight: 1, forwardMethod: 'masq', smtpAlert: true, inhibitOnFailure: false, delayLoopMs: 60000 });
  });
  it('checker defaults: TCP retry 1 / 1 s, HTTP 1 / 3 s, DNS 3, MISC 0 and misc_timeout = delay_loop', () => {
    const r = parseText(
      vsText(
        base +
          ' delay_loop 10\n' +
          rs(
            [
              '  TCP_CHECK {\n  }',
              '  HTTP_GET {\n   url {\n    path /health\n   }\n  }',
              '  DNS_CHECK {\n  }',
              '  MISC_CHECK {\n   misc_path "/bin/check arg"\n  }',
            ].join('\n'),
          ),
      ),
    );
    expect(messages(r)).toEqual([]);
    const [tcp, http, dns, misc] = r.config.virtualServers[0]!.realServers[0]!.checkers;
    expect(tcp).toMatchObject({ kind: 'TCP_CHECK', retry: 1, delayBeforeRetryMs: 1000, connectTimeoutMs: 5000, delayLoopMs: 10000, warmupMs: 10000, connectPort: 80, alpha: false });
    expect(http).toMatchObject({ kind: 'HTTP_GET', retry: 1, delayBeforeRetryMs: 3000, urls: [{ path: '/health', statusCodes: [[200, 299]] }] });
    expect(dns).toMatchObject({ kind: 'DNS_CHECK', retry: 3, type: 'SOA', name: '.' });
    expect(misc).toMatchObject({ kind: 'MISC_CHECK', retry: 0, path: '/bin/check arg', timeoutMs: 10000, dynamic: false });
  });
  it('timers inherit VS → RS → checker', () => {
    const r = parseText(
      vsText(base + ' connect_timeout 7\n retry 4\n delay_before_retry 2\n' + rs(' delay_loop 3\n connect_timeout 6\n  TCP_CHECK {\n   retry 9\n  }\n  TCP_CHECK {\n   connect_port 81\n   connect_timeout 1\n   alpha\n  }')),
    );
    const [a, b] = r.config.virtualServers[0]!.realServers[0]!.checkers;
    expect(a).toMatchObject({ connectTimeoutMs: 6000, retry: 9, delayBeforeRetryMs: 2000, delayLoopMs: 3000 });
    expect(b).toMatchObject({ connectTimeoutMs: 1000, retry: 4, connectPort: 81, alpha: true });
  });
  it('nb_get_retry: unknown in TCP_CHECK, deprecated alias of retry in HTTP_GET', () => {
    const r = parseText(vsText(base + rs('  TCP_CHECK {\n   nb_get_retry 3\n  }\n  HTTP_GET {\n   nb_get_retry 2\n   url {\n    path /\n    status_code 200-299 404\n   }\n  }')));
    expect(messages(r)).toEqual(["Unknown keyword 'nb_get_retry'", "nb_get_retry is deprecated - please use 'retry'"]);
    const [tcp, http] = r.config.virtualServers[0]!.realServers[0]!.checkers;
    expect(tcp!.retry).toBe(1);
    expect(http!.retry).toBe(2);
    expect(http).toMatchObject({ urls: [{ statusCodes: [[200, 299], [404, 404]] }] });
  });
  it('reads SSL_GET, SMTP_CHECK, UDP_CHECK, PING_CHECK, FILE_CHECK and BFD_CHECK', () => {
    const r = parseText(
      'track_file tfx {\n file /run/x\n}\n' +
      vsText(
        base +
          rs(
            [
              '  SSL_GET {\n   enable_sni\n   sni_name example.org\n   url {\n    path /\n    digest abc\n   }\n  }',
              '  SMTP_CHECK {\n   helo_name me\n   host {\n    connect_ip 10.0.1.9\n    connect_port 25\n   }\n  }',
              '  UDP_CHECK {\n   payload 0102\n   require_reply 0X\n   max_reply_length 10\n  }',
              '  PING_CHECK {\n  }',
              '  FILE_CHECK {\n   track_file tfx\n   weight 5 reverse\n  }',
              '  BFD_CHECK b1 {\n  }',
            ].join('\n'),
          ),
      ),
    );
    // BFD_CHECK is read (keepalived's syntax) and reported: lvskeeper has no BFD.
    expect(r.diagnostics.map((d) => [d.severity, d.keyword])).toEqual([['unsupported', 'BFD_CHECK']]);
    const c = r.config.virtualServers[0]!.realServers[0]!.checkers;
    expect(c.map((x) => x.kind)).toEqual(['SSL_GET', 'SMTP_CHECK', 'UDP_CHECK', 'PING_CHECK', 'FILE_CHECK', 'BFD_CHECK']);
    expect(c[0]).toMatchObject({ enableSni: true, sniName: 'example.org', urls: [{ digest: 'abc' }] });
    expect(c[1]).toMatchObject({ heloName: 'me', hosts: [{ connectIp: '10.0.1.9', connectPort: 25 }] });
    expect(c[2]).toMatchObject({ payload: '0102', requireReply: true, requireReplyPattern: '0X', minReplyLength: 0, maxReplyLength: 10 });
    expect(c[4]).toMatchObject({ trackFile: 'tfx', weight: 5, weightReverse: true });
    expect(c[5]).toMatchObject({ name: 'b1' });
  });
});

describe('late VS keywords', () => {
  it('weight and inhibit_on_failure given after the real servers still apply to them', () => {
    const r = parseText(vsText(' lb_algo rr\n lb_kind NAT\n protocol TCP\n' + rs('') + '\n' + rs(' weight 7', '10.0.1.2 80') + '\n weight 3\n inhibit_on_failure'));
    expect(r.config.virtualServers[0]!.realServers.map((s) => [s.weight, s.inhibitOnFailure])).toEqual([[3, true], [7, true]]);
  });
});
