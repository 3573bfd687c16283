import { describe, expect, it } from 'vitest';
import { FORWARD_METHOD_NUMBER, PROTOCOL_NUMBER } from '../../src/ipvs/types.js';

describe('ipvs constants', () => {
  it('match include/uapi/linux/ip_vs.h', () => {
    expect(FORWARD_METHOD_NUMBER.route).toBe(3);
    expect(PROTOCOL_NUMBER.sctp).toBe(132);
  });
});
