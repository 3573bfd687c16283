#!/bin/sh
# Installs lvskeeper from this checkout on a Debian/systemd machine (as root):
#   1. builds dist/ (npm ci + npm run build) unless --no-build and dist/ exists,
#   2. packs the package (npm pack) and installs the tarball globally (npm install -g), which builds
#      the native addon with node-gyp (needs g++, make, python3),
#   3. installs systemd/lvskeeper.service with ExecStart= set to the real installed path (npm's
#      global prefix is /usr on some machines, /usr/local on others) and checks it with
#      `systemd-analyze verify`,
#   4. installs /etc/default/lvskeeper if it does not exist (never overwrites the operator's),
#   5. systemctl daemon-reload. It does not enable or start the service.
#
# Options (for packaging and tests):
#   --prefix DIR        npm global prefix to install into (default: npm's own)
#   --unit-dir DIR      where the unit goes (default /etc/systemd/system)
#   --default-file F    the EnvironmentFile (default /etc/default/lvskeeper)
#   --no-build          use the existing dist/
#   --no-daemon-reload  do not run systemctl daemon-reload
set -eu
cd "$(dirname "$0")/.."

prefix=""
unit_dir=/etc/systemd/system
default_file=/etc/default/lvskeeper
build=1
reload=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --unit-dir) unit_dir="$2"; shift 2 ;;
    --default-file) default_file="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-daemon-reload) reload=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

say() { echo "install.sh: $*"; }

if [ "$build" = 1 ] || [ ! -f dist/cli/lvskeeper.js ]; then
  say "building"
  npm ci --no-audit --no-fund
  npm run build
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lvskeeper-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tarball=$(npm pack --silent --pack-destination "$tmp" | tail -n 1)
say "installing $tarball"
if [ -n "$prefix" ]; then
  npm install -g --prefix "$prefix" --no-audit --no-fund "$tmp/$tarball"
  bin="$prefix/bin/lvskeeper"
else
  npm install -g --no-audit --no-fund "$tmp/$tarball"
  bin="$(npm prefix -g)/bin/lvskeeper"
fi
[ -x "$bin" ] || { echo "install.sh: $bin was not installed" >&2; exit 1; }
# the installed command must start (its dependencies resolve): --signum answers without a config
[ "$("$bin" --signum=STOP 2>/dev/null)" = 15 ] || { echo "install.sh: $bin does not run" >&2; exit 1; }

mkdir -p "$unit_dir"
unit="$unit_dir/lvskeeper.service"
# The path goes into a sed replacement: escape the characters sed treats specially there.
esc=$(printf '%s' "$bin" | sed 's/[\\&|]/\\&/g')
sed "s|^ExecStart=[^ ]*lvskeeper |ExecStart=$esc |" systemd/lvskeeper.service > "$tmp/lvskeeper.service"
grep -q "^ExecStart=$bin " "$tmp/lvskeeper.service" || { echo "install.sh: could not set ExecStart" >&2; exit 1; }
if command -v systemd-analyze >/dev/null 2>&1; then
  out=$(systemd-analyze verify "$tmp/lvskeeper.service" 2>&1) || { echo "$out" >&2; exit 1; }
  if printf '%s\n' "$out" | grep -q 'lvskeeper.service'; then
    echo "$out" >&2
    echo "install.sh: systemd-analyze verify warns about the unit" >&2
    exit 1
  fi
fi
install -m 0644 "$tmp/lvskeeper.service" "$unit"
say "unit $unit (ExecStart=$bin)"

if [ -e "$default_file" ]; then
  say "kept the existing $default_file"
else
  mkdir -p "$(dirname "$default_file")"
  install -m 0644 systemd/lvskeeper.default "$default_file"
  say "installed $default_file"
fi

if [ "$reload" = 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  say "systemd reloaded; start with: systemctl enable --now lvskeeper"
fi
