import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/index.js';
import { checkSpecsFromConfig } from '../../../src/check/from-config.js';
import { desiredEntries, initialPool, realServerStatus } from '../../../src/check/pool.js';
import { initialCheckerState } from '../../../src/check/state.js';
import { expandAddressRange } from '../../../src/check/vsg.js';
import type { VirtualServerSpec } from '../../../src/check/types.js';

/** Accepts every misc_path as an exec of its first word, as root (the checks are script-security's tests). */
const acceptScripts: NonNullable<Parameters<typeof checkSpecsFromConfig>[1]>['prepareScript'] = (cmd) => {
  const [file = '', ...args] = cmd.command.split(' ');
  return { ok: true, insecure: false, script: { command: { kind: 'exec', file, args }, runAs: { user: 'root', uid: 0, gid: 0 }, configured: cmd.command } };
};

function specs(text: string, options?: Parameters<typeof checkSpecsFromConfig>[1]) {
  const { config, diagnostics } = parseConfig('/etc/keepalived/keepalived.conf', {
    readFile: (p) => (p === '/etc/keepalived/keepalived.conf' ? text : undefined),
    hostname: 'lb1',
  });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  expect(errors).toEqual([]);
  return checkSpecsFromConfig(config, { prepareScript: acceptScripts, ...options });
}

/** The desired state at start, as the scheduler would compute it. */
function startState(vs: VirtualServerSpec) {
  const rs = Object.fromEntries(
    vs.realServers.map((r) => [r.id, realServerStatus(r, r.checkers.map((c) => initialCheckerState(c.timing)))]),
  );
  return desiredEntries(vs, initialPool(vs, rs).state);
}

describe('checkSpecsFromConfig', () => {
  it('maps the tutorial virtual server (DR, wrr, persistence, TCP_CHECK)', () => {
    const { virtualServers, warnings } = specs(`
virtual_server 192.168.200.16 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    real_server 192.168.200.2 80 {
        weight 3
        notify_down "/usr/local/bin/rs-down arg"
        TCP_CHECK {
            connect_port 8080
            connect_timeout 3
            retry 2
            delay_before_retry 4
        }
    }
}
`);
    expect(warnings).toEqual([]);
    const vs = virtualServers[0] as VirtualServerSpec;
    expect(vs.label).toBe('[192.168.200.16]:tcp:80');
    expect(vs.keys).toEqual([{ kind: 'addr', family: 'inet', protocol: 'tcp', address: '192.168.200.16', port: 80 }]);
    expect(vs).toMatchObject({ scheduler: 'wrr', flags: 1, timeout: 50, quorum: 1, hysteresis: 0 });
    const rs = vs.realServers[0];
    expect(rs).toMatchObject({ label: '[192.168.200.2]:tcp:80', weight: 3, forward: 'route', notifyDown: { command: '/usr/local/bin/rs-down arg' } });
    const c = rs?.checkers[0];
    expect(c?.label).toBe('[192.168.200.2]:tcp:8080');
    expect(c?.timing).toMatchObject({ delayLoopMs: 6000, retry: 2, delayBeforeRetryMs: 4000, alpha: false });
    expect(c?.probe).toMatchObject({ type: 'TCP_CHECK', target: { address: '192.168.200.2', port: 8080, connectTimeoutMs: 3000 } });
    expect(startState(vs)[0]?.destinations).toEqual([
      { family: 'inet', address: '192.168.200.2', port: 80, forward: 'route', weight: 3, upperThreshold: 0, lowerThreshold: 0 },
    ]);
  });

  it('HTTP_GET / SSL_GET / MISC / UDP / DNS / SMTP / PING with their options', () => {
    const { virtualServers, warnings } = specs(`
virtual_server 10.10.10.2 1358 {
    delay_loop 6
    lb_algo rr
    lb_kind NAT
    protocol TCP
    virtualhost www.vs.example
    real_server 192.168.200.6 1358 {
        HTTP_GET {
            url {
              path /testurl/test.jsp
              digest 640205B7B0FC66C1EA91C463FAC6334D
              status_code 200-204 301
            }
            http_protocol 1.1
            connect_timeout 3
        }
        SSL_GET {
            url {
              path /
            }
            enable_sni
            sni_name sni.example
        }
        MISC_CHECK {
            misc_path "/usr/bin/check.sh 192.168.200.6"
            misc_timeout 4
            misc_dynamic
        }
        UDP_CHECK {
            connect_port 53
            payload 0102
            require_reply 01XX
            max_reply_length 100
        }
        DNS_CHECK {
            type A
            name www.example.com
        }
        SMTP_CHECK {
            helo_name mx.example
            host {
                connect_ip 192.168.200.7
                connect_port 25
            }
        }
        PING_CHECK {
        }
    }
}
`);
    expect(warnings).toEqual([]);
    const cs = virtualServers[0]?.realServers[0]?.checkers ?? [];
    expect(cs.map((c) => c.probe.type)).toEqual(['HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'UDP_CHECK', 'DNS_CHECK', 'SMTP_CHECK', 'PING_CHECK']);
    expect(cs[0]?.probe).toMatchObject({
      httpProtocol: '1.1',
      virtualhost: 'www.vs.example',
      urls: [{ path: '/testurl/test.jsp', digest: '640205b7b0fc66c1ea91c463fac6334d', statusCodes: [[200, 204], [301, 301]] }],
    });
    expect(cs[0]?.timing.delayBeforeRetryMs).toBe(3000); // HTTP default
    expect(cs[1]?.probe).toMatchObject({ type: 'SSL_GET', enableSni: true, sniName: 'sni.example' });
    expect(cs[2]?.probe).toMatchObject({
      path: '/usr/bin/check.sh 192.168.200.6',
      script: { command: { kind: 'exec', file: '/usr/bin/check.sh', args: ['192.168.200.6'] } },
      timeoutMs: 4000,
      dynamic: true,
    });
    expect(cs[2]?.timing.retry).toBe(0); // MISC default
    expect(cs[3]?.probe).toMatchObject({ payloadHex: '0102', requireReply: true, replyHex: '01XX', maxReplyLength: 100 });
    expect(cs[3]?.label).toBe('[192.168.200.6]:udp:53');
    expect(cs[4]?.probe).toMatchObject({ queryType: 'A', name: 'www.example.com' });
    expect(cs[4]?.timing.retry).toBe(3); // DNS default
    expect(cs[5]?.probe).toMatchObject({ heloName: 'mx.example', hosts: [{ address: '192.168.200.7', port: 25 }] });
    expect(new Set(cs.map((c) => c.id)).size).toBe(cs.length);
  });

  it('a MISC_CHECK whose script is refused is dropped with keepalived\'s words at its file:line; other checkers stay', () => {
    const text = `
virtual_server 10.10.10.2 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 192.168.200.6 80 {
        MISC_CHECK {
            misc_path "/tmp/x.sh a"
        }
        TCP_CHECK {
        }
    }
}
`;
    const insecure = specs(text, {
      prepareScript: () => ({ ok: false, reason: 'insecure', message: "Unsafe permissions found for script '/tmp/x.sh' - disabling." }),
    });
    expect(insecure.warnings).toEqual([
      "/etc/keepalived/keepalived.conf:7: Disabling misc script /tmp/x.sh a due to insecure: Unsafe permissions found for script '/tmp/x.sh' - disabling.",
    ]);
    expect(insecure.virtualServers[0]?.realServers[0]?.checkers.map((c) => c.probe.type)).toEqual(['TCP_CHECK']);
    // Never run unchecked: without a script checker, MISC_CHECK is dropped too.
    const unchecked = specs(text, { prepareScript: undefined });
    expect(unchecked.warnings).toEqual(['/etc/keepalived/keepalived.conf:7: MISC_CHECK /tmp/x.sh a skipped: no script security check was given to run it with']);
    expect(unchecked.virtualServers[0]?.realServers[0]?.checkers.map((c) => c.probe.type)).toEqual(['TCP_CHECK']);
  });

  it('alpha, inhibit_on_failure, quorum/hysteresis and the sorry server', () => {
    const { virtualServers } = specs(`
virtual_server 10.10.10.2 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    alpha
    quorum 2
    hysteresis 1
    quorum_up "/bin/up"
    sorry_server 192.168.100.100 80
    sorry_server_inhibit
    real_server 192.168.200.2 80 {
        inhibit_on_failure
        TCP_CHECK {
        }
    }
    real_server 192.168.200.3 80 {
        weight 2
        TCP_CHECK {
        }
    }
}
`);
    const vs = virtualServers[0] as VirtualServerSpec;
    expect(vs).toMatchObject({ quorum: 2, hysteresis: 1, quorumUp: { command: '/bin/up' } });
    expect(vs.sorryServer).toMatchObject({ address: '192.168.100.100', port: 80, inhibit: true, forward: 'masq' });
    expect(vs.realServers[0]?.inhibitOnFailure).toBe(true);
    expect(vs.realServers[0]?.checkers[0]?.timing.alpha).toBe(true);
    // alpha: nothing alive yet -> quorum down, sorry server in, the inhibited RS at weight 0.
    expect(startState(vs)[0]?.destinations.map((d) => `${d.address}/${d.weight}`)).toEqual(['192.168.200.2/0', '192.168.100.100/1']);
  });

  it('fwmark and virtual_server_group (ranges, IPv6 ranges, fwmarks) give one service per entry', () => {
    const { virtualServers, warnings } = specs(`
virtual_server_group G1 {
    192.168.200.3-5 80
    10.0.0.1 8080
    ae00::2-4 80
    fwmark 7
}
virtual_server group G1 {
    lb_algo sh
    sh-port
    lb_kind TUN
    protocol TCP
    real_server 192.168.201.2 80 {
        TCP_CHECK {
        }
    }
}
virtual_server fwmark 1 {
    lb_algo rr
    lb_kind DR
    real_server 192.168.201.9 {
        weight 1
    }
}
`);
    expect(warnings).toEqual([]);
    const [g, f] = virtualServers;
    expect(g?.label).toBe('[G1]:0');
    expect(g?.keys.map((k) => (k.kind === 'addr' ? `${k.address}:${k.port}` : `FWM ${k.fwmark}/${k.family}`))).toEqual([
      '192.168.200.3:80',
      '192.168.200.4:80',
      '192.168.200.5:80',
      '10.0.0.1:8080',
      'ae00::2:80',
      'ae00::3:80',
      'ae00::4:80',
      'FWM 7/inet',
    ]);
    expect(g?.flags).toBe(0x10); // sh-port = SCHED2
    expect(g?.realServers[0]?.forward).toBe('tunnel');
    expect(f?.label).toBe('FWM 1');
    expect(f?.keys).toEqual([{ kind: 'fwmark', family: 'inet', fwmark: 1 }]);
    const entries = startState(f as VirtualServerSpec);
    expect(entries[0]?.destinations[0]).toMatchObject({ address: '192.168.201.9', forward: 'route' });
  });

  it("FILE_CHECK reads its track_file definition (the caller's own definitions win)", () => {
    const text = `
track_file tf1 {
    file /run/from-config
}
virtual_server 10.0.0.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 10.0.1.1 80 {
        FILE_CHECK {
            track_file tf1
            weight 2
        }
    }
}
`;
    const fromFile = specs(text);
    expect(fromFile.warnings).toEqual([]);
    expect(fromFile.virtualServers[0]?.realServers[0]?.checkers[0]?.probe).toEqual({ type: 'FILE_CHECK', path: '/run/from-config', weight: 2, reverse: false });
    const ok = specs(text, { trackFiles: { tf1: { path: '/run/weight' } } });
    expect(ok.warnings).toEqual([]);
    expect(ok.virtualServers[0]?.realServers[0]?.checkers[0]?.probe).toEqual({ type: 'FILE_CHECK', path: '/run/weight', weight: 2, reverse: false });
  });
});

describe('expandAddressRange', () => {
  it('expands IPv4 and IPv6 ranges and refuses bad ones', () => {
    expect(expandAddressRange('inet', '192.168.200.3', '192.168.200.5')).toEqual(['192.168.200.3', '192.168.200.4', '192.168.200.5']);
    expect(expandAddressRange('inet', '10.0.0.255', '10.0.1.0')).toEqual(['10.0.0.255', '10.0.1.0']);
    expect(expandAddressRange('inet6', 'ae00::9', 'ae00::b')).toEqual(['ae00::9', 'ae00::a', 'ae00::b']);
    expect(expandAddressRange('inet', '10.0.0.5', '10.0.0.1')).toMatch(/ends before it starts/);
    expect(expandAddressRange('inet', '10.0.0.0', '10.2.0.0')).toMatch(/more than/);
    expect(expandAddressRange('inet', 'nope')).toMatch(/invalid address/);
  });
});
