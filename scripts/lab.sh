#!/bin/sh
# npm run lab: the seed lab live in network namespaces (src/lab). Builds dist/ first when it is missing,
# and recompiles dist/lab alone (it imports nothing else) when src/lab is newer. Options: --help.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
if [ ! -f dist/cli/lvskeeper.js ]; then
  echo "lab: dist/ missing, running npm run build" >&2
  npm run build >&2 || [ -f dist/cli/lvskeeper.js ] || { echo "lab: build failed" >&2; exit 1; }
fi
stale=0
[ -f dist/lab/main.js ] || stale=1
for f in src/lab/*.ts; do [ "$f" -nt dist/lab/main.js ] 2>/dev/null && stale=1; done
if [ "$stale" = 1 ]; then
  node_modules/.bin/tsc --target ES2022 --module NodeNext --moduleResolution NodeNext --lib ES2023 --types node \
    --strict --skipLibCheck --rootDir src/lab --outDir dist/lab src/lab/*.ts >&2 || { rm -f dist/lab/main.js; echo "lab: compiling src/lab failed" >&2; exit 1; }
fi
if [ "$(id -u)" != 0 ]; then
  echo "lab: needs root (network namespaces, raw sockets); try: sudo npm run lab" >&2
  exit 4
fi
exec node dist/lab/main.js "$@"
