#!/bin/sh
# npm run lab: the seed lab live in network namespaces (src/lab). Builds dist/ first when it is missing,
# and recompiles dist/lab alone (it imports nothing else) when src/lab changed. Options: --help.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
if [ ! -f dist/cli/lvskeeper.js ]; then
  echo "lab: dist/ missing, running npm run build" >&2
  npm run build >&2 || [ -f dist/cli/lvskeeper.js ] || { echo "lab: build failed" >&2; exit 1; }
fi
# Recompile dist/lab when its sources changed since the last compile here (a content hash, because a
# concurrent `npm run build` can write dist/lab after a newer src/lab without this script knowing).
sum=$(cat src/lab/*.ts | cksum)
if [ ! -f dist/lab/main.js ] || [ "$(cat dist/lab/.src-sum 2>/dev/null)" != "$sum" ]; then
  node_modules/.bin/tsc --target ES2022 --module NodeNext --moduleResolution NodeNext --lib ES2023 --types node \
    --strict --skipLibCheck --rootDir src/lab --outDir dist/lab src/lab/*.ts >&2 || { rm -f dist/lab/main.js dist/lab/.src-sum; echo "lab: compiling src/lab failed" >&2; exit 1; }
  echo "$sum" > dist/lab/.src-sum
fi
if [ "$(id -u)" != 0 ]; then
  echo "lab: needs root (network namespaces, raw sockets); try: sudo npm run lab" >&2
  exit 4
fi
exec node dist/lab/main.js "$@"
