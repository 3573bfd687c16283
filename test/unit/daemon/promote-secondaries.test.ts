// promote_secondaries: set where it was 0, put back to 0 when no instance needs it or at stop, never
// touched where the operator had it on already (keepalived set/reset_promote_secondaries).
import { describe, expect, it } from 'vitest';
import { PromoteSecondaries } from '../../../src/daemon/promote-secondaries.js';
import { createMemoryLogger } from '../../../src/daemon/log.js';

function fakeSysctl(initial: Record<string, string>) {
  const values = new Map(Object.entries(initial).map(([k, v]) => [`/proc/sys/net/ipv4/conf/${k}/promote_secondaries`, v]));
  return {
    values,
    io: {
      read: (p: string) => {
        const v = values.get(p);
        if (v === undefined) throw new Error(`ENOENT: ${p}`);
        return `${v}\n`;
      },
      write: (p: string, v: string) => void values.set(p, v),
    },
  };
}
const get = (f: ReturnType<typeof fakeSysctl>, i: string) => f.values.get(`/proc/sys/net/ipv4/conf/${i}/promote_secondaries`);

describe('promote_secondaries', () => {
  it('turns it on for the instances that ask, and back off at reload and at stop', () => {
    const f = fakeSysctl({ eth0: '0', eth1: '1', eth2: '0' });
    const p = new PromoteSecondaries(createMemoryLogger(), f.io);
    p.apply([
      { interface: 'eth0', promoteSecondaries: true },
      { interface: 'eth1', promoteSecondaries: true },
      { interface: 'eth2', promoteSecondaries: false },
    ]);
    expect([get(f, 'eth0'), get(f, 'eth1'), get(f, 'eth2')]).toEqual(['1', '1', '0']);
    // Reload: eth0 no longer wanted -> reset; eth1 was the operator's -> untouched.
    p.apply([{ interface: 'eth1', promoteSecondaries: true }]);
    expect([get(f, 'eth0'), get(f, 'eth1')]).toEqual(['0', '1']);
    p.apply([{ interface: 'eth2', promoteSecondaries: true }]);
    p.stop();
    expect([get(f, 'eth0'), get(f, 'eth1'), get(f, 'eth2')]).toEqual(['0', '1', '0']);
  });

  it('a missing interface is a warning, not a failure', () => {
    const f = fakeSysctl({});
    const mem = createMemoryLogger();
    new PromoteSecondaries(mem, f.io).apply([{ interface: 'nope0', promoteSecondaries: true }]);
    expect(mem.lines.map((l) => l.msg).join("\n")).toMatch(/cannot set promote_secondaries on nope0/);
  });
});
