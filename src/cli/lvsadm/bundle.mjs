// Packages lvsadm for fast start-up (start-up is most of an lvsadm call, above all in the emulated VM):
//   dist/lvsadm.mjs   one ES module instead of a module graph (`node dist/lvsadm.mjs ARGS`);
//   dist/lvsadm.blob  a V8 start-up snapshot of the same code (Node >= 20 --build-snapshot);
//   dist/lvsadm       a launcher: the snapshot when present and usable, else the bundle.
// Run with `npm run build:lvsadm`. `npm run build` runs it with --bundle-only: the installed bin
// (dist/cli/lvsadm.js) runs dist/lvsadm.mjs, and a snapshot only loads on the machine that built it, so the
// package does not carry one. The IPVS client loads the `netlink` package through createRequire();
// its index pulls in every netlink family (rtnetlink, nl80211, wireguard...) for ~140 ms on a fast host,
// while the client only needs RawNetlinkSocket from netlink/dist/raw.js (~6 ms). A plugin gives the bundle
// a createRequire that maps 'netlink' to that file, bundled in. raw.js finds its native addon with
// node-gyp-build, which scans build/ and prebuilds/ directories and realpaths each candidate: ~0.15 s of a
// 1 s `lvsadm -Ln` in the emulated VM. The bundle instead loads the addon node-gyp-build chose at build time
// (a path relative to dist/), and only calls node-gyp-build when that file is not there (installed elsewhere).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dist = `${root}dist/`;
const requireHere = createRequire(import.meta.url);
const netlinkDir = dirname(requireHere.resolve('netlink/package.json'));
const addonPath = requireHere('node-gyp-build').path(netlinkDir);
/** raw.js's own lookup of its addon, replaced in the bundle by loadNetlinkAddon() below. */
const ADDON_LOOKUP = "require('node-gyp-build')(__dirname + '/..')";

const rawNetlinkOnly = {
  name: 'raw-netlink-only',
  setup(b) {
    b.onResolve({ filter: /^node:module$/ }, (args) =>
      args.namespace === 'lvsadm-shim' ? { path: 'node:module', external: true } : { path: 'node:module', namespace: 'lvsadm-shim' },
    );
    b.onResolve({ filter: /^lvsadm-netlink-addon$/ }, () => ({ path: 'lvsadm-netlink-addon', namespace: 'lvsadm-shim' }));
    b.onLoad({ filter: /^node:module$/, namespace: 'lvsadm-shim' }, () => ({
      contents: `import { createRequire as realCreateRequire } from 'node:module';
export function createRequire(url) {
  const req = realCreateRequire(url);
  const narrowed = (id) => (id === 'netlink' ? require('netlink/dist/raw.js') : req(id));
  return Object.assign(narrowed, req);
}`,
      loader: 'js',
      resolveDir: root,
    }));
    b.onLoad({ filter: /^lvsadm-netlink-addon$/, namespace: 'lvsadm-shim' }, () => ({
      contents: `import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
export function loadNetlinkAddon() {
  const req = createRequire(import.meta.url);
  const built = fileURLToPath(new URL(${JSON.stringify(relative(dist, addonPath))}, import.meta.url));
  try {
    return req(built);
  } catch (e) {
    if (e && e.code !== 'MODULE_NOT_FOUND') throw e;
    return req('node-gyp-build')(dirname(req.resolve('netlink/package.json')));
  }
}`,
      loader: 'js',
      resolveDir: root,
    }));
    b.onLoad({ filter: /[\\/]netlink[\\/]dist[\\/]raw\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes(ADDON_LOOKUP)) throw new Error(`${args.path}: no ${ADDON_LOOKUP} to replace (netlink package changed?)`);
      return { contents: text.replace(ADDON_LOOKUP, "require('lvsadm-netlink-addon').loadNetlinkAddon()"), loader: 'js' };
    });
  },
};

const common = { bundle: true, platform: 'node', target: 'node20', legalComments: 'none', logLevel: 'warning', plugins: [rawNetlinkOnly] };

// An ES module has no require(); the bundled CommonJS (raw.js) needs one for node:events and node:os.
const esmRequire = "import { createRequire as __lvsadmCreateRequire } from 'node:module'; const require = __lvsadmCreateRequire(import.meta.url);";
await build({
  ...common,
  entryPoints: [`${root}src/cli/lvsadm/bin.ts`],
  outfile: `${dist}lvsadm.mjs`,
  format: 'esm',
  banner: { js: esmRequire },
});
if (process.argv.includes('--bundle-only')) {
  console.log('dist/lvsadm.mjs');
  process.exit(0);
}

// The snapshot entry must be one CommonJS script; import.meta.url (used by createRequire) becomes the
// bundle's own path, which is where node_modules is found at run time.
const snapshotScript = `${dist}lvsadm-snapshot.cjs`;
await build({
  ...common,
  entryPoints: [`${root}src/cli/lvsadm/snapshot-entry.ts`],
  outfile: snapshotScript,
  format: 'cjs',
  define: { 'import.meta.url': '__lvsadmUrl' },
  banner: { js: 'const __lvsadmUrl = require("node:url").pathToFileURL(__filename).href;' },
});
rmSync(`${dist}lvsadm.blob`, { force: true });
let snapshot = true;
try {
  execFileSync(process.execPath, ['--no-warnings', '--snapshot-blob', `${dist}lvsadm.blob`, '--build-snapshot', snapshotScript], { stdio: 'inherit' });
} catch {
  snapshot = false; // older Node: the launcher falls back to the bundle
}

// A snapshot only loads in the node binary, kernel and CPU model it was built on (V8 checks a hash of its
// configuration; the emulated VM's CPU differs from the host's). The launcher compares this machine's
// fingerprint with the builder's, using shell built-ins and two small processes, and otherwise runs the bundle.
const fingerprintExpr = '"$(command -v node) $(uname -srm) $(grep -h -m1 -e ^flags -e ^MemTotal /proc/cpuinfo /proc/meminfo)"';
const fingerprint = execFileSync('sh', ['-c', `printf %s ${fingerprintExpr}`], { encoding: 'utf8' });
const shellQuote = (t) => `'${t.replaceAll("'", "'\\''")}'`;
writeFileSync(
  `${dist}lvsadm`,
  `#!/bin/sh
# lvsadm launcher (generated by src/cli/lvsadm/bundle.mjs): the V8 start-up snapshot when this is the machine
# and node it was built with (${process.version}), else the single-file bundle.
here=\${0%/*}
if [ -f "$here/lvsadm.blob" ] && [ "\${LVSADM_NO_SNAPSHOT:-}" != 1 ] &&
   [ ${fingerprintExpr} = ${shellQuote(fingerprint)} ]; then
  exec node --snapshot-blob "$here/lvsadm.blob" -- "$@"
fi
exec node "$here/lvsadm.mjs" "$@"
`,
);
chmodSync(`${dist}lvsadm`, 0o755);
console.log(`dist/lvsadm.mjs, dist/lvsadm${snapshot ? ', dist/lvsadm.blob' : ' (no snapshot)'}`);
