// The lab's rewrite of the seed's configuration files (src/lab/conf.ts): interface and script path
// change, nothing else does.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adaptConfig, addGlobalFlag } from '../../../src/lab/conf.js';

const REPO = resolve(import.meta.dirname, '../../..');

describe('adaptConfig', () => {
  for (const file of ['lb01.conf', 'lb02.conf', 'keepalived.conf']) {
    it(`${file}: ens33 -> eth0, lvs_check.sh -> the given script, the rest unchanged`, () => {
      const seed = readFileSync(join(REPO, 'config', file), 'utf8');
      expect(seed).toContain('interface ens33');
      expect(seed).toContain('"/etc/keepalived/lvs_check.sh"');
      const out = adaptConfig(seed, { checkScript: '/tmp/x/ok.sh', notes: ['adapted'] });
      expect(out.startsWith('! adapted\n')).toBe(true);
      expect(out).not.toContain('ens33');
      expect(out).not.toContain('/etc/keepalived/lvs_check.sh');
      expect(out).toContain('interface eth0');
      expect(out).toContain('script "/tmp/x/ok.sh"');
      // Undo the two substitutions: the remainder is the seed byte for byte.
      const back = out.slice('! adapted\n'.length).replace('interface eth0', 'interface ens33').replace('/tmp/x/ok.sh', '/etc/keepalived/lvs_check.sh');
      expect(back).toBe(seed);
    });
  }

  it('renames whole words only, in every place an interface appears', () => {
    const text = 'interface ens33\ntrack_interface {\n  ens33\n  ens331\n}\nvirtual_ipaddress {\n  10.0.0.1 dev ens33\n}\nnotify "/x/ens33-up.sh"\n';
    const out = adaptConfig(text, { checkScript: '/s' });
    expect(out).toBe('interface eth0\ntrack_interface {\n  eth0\n  ens331\n}\nvirtual_ipaddress {\n  10.0.0.1 dev eth0\n}\nnotify "/x/ens33-up.sh"\n');
  });

  it('replaces unquoted script paths with arguments kept', () => {
    expect(adaptConfig('script /opt/lvs_check.sh --fast\n', { checkScript: '/lab/c.sh' })).toBe('script /lab/c.sh --fast\n');
  });
});

describe('addGlobalFlag', () => {
  it('puts the keyword first inside global_defs, or adds a global_defs block', () => {
    expect(addGlobalFlag('global_defs {\n    router_id LVS_01\n}\n', 'lvs_program_on_all_nodes')).toBe('global_defs {\n    lvs_program_on_all_nodes\n    router_id LVS_01\n}\n');
    expect(addGlobalFlag('vrrp_instance VI_1 {\n}\n', 'x')).toBe('global_defs {\n    x\n}\nvrrp_instance VI_1 {\n}\n');
  });
});
