// The real netlink transport on the host, whose kernel has no ip_vs: nlctrl answers ENOENT for "IPVS" and
// openIpvs() must turn that into ipvsadm's "Protocol not available", not a crash or a hang.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openIpvs } from '../../../src/ipvs/client.js';
import { IpvsError } from '../../../src/ipvs/types.js';

describe.runIf(!existsSync('/proc/net/ip_vs'))('openIpvs without ip_vs in the kernel', () => {
  it('rejects with IpvsError ENOPROTOOPT (Protocol not available)', async () => {
    const err = await openIpvs({ modprobe: false, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ op: 'resolve-family', errno: 92 });
    expect((err as Error).message).toMatch(/^Protocol not available/);
  });
});
