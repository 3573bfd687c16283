// What the fuzz suite found, shrunk to plain tests (each names the fuzz property that found it).
import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { MAX_DIAGNOSTIC_CHARS, parseConfig } from '../../../src/config/parse.js';
import { IpvsClient } from '../../../src/ipvs/client.js';
import { CMD, DecodeError, GENL_ID_CTRL, decodeDestination, decodeFamilyId, decodeService, frameMessage, parseGenl, replyBuilders as B } from '../../../src/ipvs/codec.js';
import { IpvsError } from '../../../src/ipvs/types.js';
import { FakeKernel, type Request } from '../ipvs/fake-kernel.js';

describe('fuzz regressions: configuration', () => {
  it('a long word is quoted by a bounded message (config.fuzz: "~SEQ(i,1,2) " + 5000 x "L")', () => {
    const text = `~SEQ(i,1,2) ${'L'.repeat(5000)}\n`;
    const r = parseConfig('/etc/keepalived/keepalived.conf', { readFile: () => text, hostname: 'h' });
    expect(r.diagnostics).toHaveLength(2);
    for (const d of r.diagnostics) {
      expect(d.message.length).toBe(MAX_DIAGNOSTIC_CHARS);
      expect(d.message).toMatch(/^Unknown keyword 'L+\.\.\.$/);
    }
  });

  it('a 100 kB instance name quoted by each of 500 errors makes 0.5 MB of messages, not 50 MB', () => {
    const text = `vrrp_instance ${'z'.repeat(100_000)} {\n interface eth0\n${' priority 300\n'.repeat(500)}}\n`;
    const r = parseConfig('/etc/keepalived/keepalived.conf', { readFile: () => text, hostname: 'h' });
    const bytes = r.diagnostics.reduce((n, d) => n + d.message.length, 0);
    expect(r.diagnostics.length).toBeGreaterThanOrEqual(500);
    expect(bytes).toBeLessThanOrEqual(r.diagnostics.length * MAX_DIAGNOSTIC_CHARS);
  });
});

describe.runIf(endianness() === 'LE')('fuzz regressions: IPVS replies', () => {
  it('a reply shorter than the generic netlink header is a DecodeError (ipvs.fuzz: a truncated seed)', () => {
    for (const p of [Buffer.alloc(0), Buffer.from([CMD.NEW_SERVICE, 1, 0])]) {
      expect(() => decodeService(p)).toThrow(DecodeError);
      expect(() => decodeDestination(p, 'inet')).toThrow(DecodeError);
      expect(() => parseGenl(p)).toThrow(DecodeError);
      expect(() => decodeFamilyId(p)).toThrow(DecodeError);
    }
  });

  it('a short nlctrl reply fails connect() with IpvsError EPROTO, not a plain Error (ipvs.fuzz: connect)', async () => {
    class ShortFamilyReply extends FakeKernel {
      private handler: (d: Buffer) => void = () => undefined;
      override onMessage(h: (d: Buffer) => void): void {
        super.onMessage(h);
        this.handler = h;
      }
      override deliver(r: Request): void {
        if (r.type !== GENL_ID_CTRL) return super.deliver(r);
        this.handler(frameMessage({ type: GENL_ID_CTRL, flags: 0, seq: r.seq, pid: 1, payload: Buffer.from([1, 2]) }));
      }
    }
    const k = new ShortFamilyReply();
    const err = await IpvsClient.connect(k, { modprobe: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IpvsError);
    expect(err).toMatchObject({ op: 'resolve-family', errno: 71 });
    expect((err as Error).message).toMatch(/^Protocol error: short generic netlink message/);
    expect(k.closed).toBe(true);
  });

  it('service flags with bit 31 set decode as an unsigned 32-bit value (ipvs.fuzz: flags -2147483624)', () => {
    const S = B.SVC_ATTR;
    const payload = B.genl(CMD.NEW_SERVICE, [
      B.attr(B.CMD_ATTR.SERVICE, [
        B.attr(S.AF, B.u16(2)),
        B.attr(S.FWMARK, B.u32(1)),
        B.attr(S.SCHED_NAME, B.cstring('rr')),
        B.attr(S.FLAGS, Buffer.concat([B.u32(0x80000003), B.u32(0xffffffff)])),
      ]),
    ]);
    expect(decodeService(payload).flags).toBe(0x80000001); // the kernel's HASHED (0x2) is dropped
  });
});
