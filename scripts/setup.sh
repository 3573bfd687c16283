#!/bin/sh
# Installs everything lvskeeper needs to build, run and test on a fresh Debian machine (run as root).
set -eu
cd "$(dirname "$0")/.."
pkgs="keepalived nftables ipvsadm tshark iproute2 iputils-ping iputils-arping procps psmisc kmod
      qemu-system-x86 linux-image-amd64 busybox-static cpio systemd g++ make python3 curl prometheus python3-aiosmtpd"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# keepalived is only a reference peer for tests: never let its service run on its own.
systemctl disable --now keepalived >/dev/null 2>&1 || true
# prometheus is installed for promtool and for tests that start their own server.
systemctl disable --now prometheus >/dev/null 2>&1 || true
npm ci --no-audit --no-fund
npm run build
