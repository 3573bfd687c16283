// Generates a large keepalived.conf: N virtual servers x M real servers with TCP_CHECK, plus one
// VRRP instance — the shape of a big LVS farm (keepalived issue #2318 had 2284 VS / 37298 RS).
export function generateLargeConfig({ virtualServers = 2000, realServers = 20 } = {}) {
  const out = [];
  out.push('global_defs {', '    router_id BENCH', '}', '');
  out.push('vrrp_instance VI_1 {', '    state BACKUP', '    interface lo', '    virtual_router_id 51', '    priority 100',
    '    advert_int 1', '    virtual_ipaddress {', '        10.200.0.1', '    }', '}', '');
  for (let v = 0; v < virtualServers; v++) {
    const vip = `10.${100 + (v >> 16)}.${(v >> 8) & 255}.${v & 255}`;
    out.push(`virtual_server ${vip} 80 {`, '    delay_loop 6', '    lb_algo wrr', '    lb_kind DR', '    persistence_timeout 50', '    protocol TCP', '');
    for (let r = 0; r < realServers; r++) {
      out.push(`    real_server 172.16.${v & 255}.${r + 1} 80 {`, '        weight 1', '        TCP_CHECK {', '            connect_port 80',
        '            connect_timeout 3', '            retry 3', '            delay_before_retry 3', '        }', '    }');
    }
    out.push('}', '');
  }
  return `${out.join('\n')}\n`;
}
