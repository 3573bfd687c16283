// Public surface of the VRRP core: the pure codec, validation and state machine, and the runtime that
// drives them (VrrpInstance). The daemon wiring is src/daemon/vrrp-engine.ts (VrrpEngine).
export * from './packet.js';
export * from './validate.js';
export * from './state-machine.js';
export * from './sync-group.js';
export { VrrpInstance, type InstanceSpec, type InstanceDeps, type InstanceHooks, type InstanceStats, type StateChangeEvent } from './instance.js';
export { realTimers, FakeTimers, type Clock, type TimerHost, type TimerHandle } from './timers.js';
export { compareAddresses, canonicalAddress, parseAddress, formatAddress } from './addr.js';
