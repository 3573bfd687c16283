// Kernel adapters behind the interfaces in ./types.ts. Factories only; see each module for the why.
export type * from './types.js';
export { openVrrpTransport, VRRP_GROUP_V4, VRRP_GROUP_V6, type VrrpTransportExtraOptions } from './transport.js';
export { openAddressManager } from './addresses.js';
export { openLinkWatcher } from './links.js';
export { openAnnouncer, sendUnixDatagram, type AnnouncerOptions } from './announcer.js';
export { interfaceInfo, type InterfaceInfo } from './interfaces.js';
export { openRouteManager, describeRoute, describeRule, type RouteManagerOptions } from './routes.js';
export { openLinkManager } from './link-manager.js';
