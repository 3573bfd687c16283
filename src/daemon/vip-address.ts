// A configured address line (virtual_ipaddress, virtual_ipaddress_excluded, static_ipaddress) as the
// address manager adds it.
import type { VirtualIpAddress } from '../config/model.js';
import { IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_MCAUTOJOIN, IFA_F_NOPREFIXROUTE, INFINITY_LIFE_TIME } from '../net/rtnetlink-codec.js';
import type { VirtualAddress } from '../net/types.js';

export function addressToAdd(v: VirtualIpAddress, defaultInterface: string): VirtualAddress {
  const flags =
    (v.home ? IFA_F_HOMEADDRESS : 0) | (v.manageTempAddr ? IFA_F_MANAGETEMPADDR : 0) | (v.noPrefixRoute ? IFA_F_NOPREFIXROUTE : 0) | (v.autoJoin ? IFA_F_MCAUTOJOIN : 0);
  const a: VirtualAddress = {
    family: v.family,
    address: v.address,
    prefixLength: v.prefixLength,
    interface: v.dev ?? defaultInterface,
    broadcast: v.brd,
    scope: v.scope as VirtualAddress['scope'],
    label: v.label,
    noTrack: v.noTrack,
  };
  if (v.peer !== undefined) a.peer = v.peer;
  if (flags !== 0) a.flags = flags;
  if (v.dad) a.dad = true;
  if (v.preferredLft !== undefined && v.preferredLft !== INFINITY_LIFE_TIME) a.preferredLifetime = v.preferredLft;
  return a;
}
