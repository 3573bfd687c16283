#!/bin/sh
# Runs a command inside the throw-away VM whose kernel has IPVS (the host kernel has none).
# Already inside the VM (KERNEL_VM=1), or asked to skip the VM, it runs the command directly.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${KERNEL_VM:-}" = 1 ] || [ "${LVSKEEPER_NO_VM:-}" = 1 ]; then
  exec "$@"
fi
vm="$here/../shared/kernel-vm/run"
if [ ! -x "$vm" ]; then
  echo "in-vm: $vm not found; cannot run IPVS tests without a kernel that has ip_vs" >&2
  exit 1
fi
cd "$here"
# The VM stage takes ~20 min on an idle 2-core host; the bound is for a loaded one.
exec "$vm" --mem "${VM_MEM:-3072}" --timeout "${VM_TIMEOUT:-2700}" -- "$@"
