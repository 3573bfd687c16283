#!/bin/sh
# vrrp_script for the seed lab: healthy (exit 0) while IPVS has at least one TCP virtual service.
# /proc/net/ip_vs lists services as lines starting with "TCP  <hex addr>:<hex port> <sched>".
[ -r /proc/net/ip_vs ] || exit 1
grep -q '^TCP ' /proc/net/ip_vs && exit 0
exit 1
