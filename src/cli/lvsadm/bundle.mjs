// Packages lvsadm for fast start-up (start-up is most of an lvsadm call, above all in the emulated VM):
//   dist/lvsadm.mjs   one ES module instead of a module graph (`node dist/lvsadm.mjs ARGS`);
//   dist/lvsadm.cjs   the same as one CommonJS script (no ES module loader at start-up);
//   dist/lvsadm       a launcher running dist/lvsadm.cjs;
//   dist/lvsadm.blob  with --snapshot only: a V8 start-up snapshot of the same code (Node >= 20
//                     --build-snapshot), which the launcher then prefers on the machine that built it.
// Run with `npm run build:lvsadm`. `npm run build` runs it with --bundle-only: the installed bin is
// dist/lvsadm.cjs itself (package.json "bin"; dist/cli/lvsadm.js runs dist/lvsadm.mjs), and a snapshot only
// loads on the machine that built it, so the package does not carry one. The IPVS client loads the `netlink` package through createRequire();
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
  const narrowed = (id) => (id === 'netlink/dist/raw.js' ? require('netlink/dist/raw.js') : req(id));
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
  // process.dlopen, as require() does for a .node file, minus require's resolution and realpath
  const addon = { exports: {} };
  try {
    process.dlopen(addon, fileURLToPath(new URL(${JSON.stringify(relative(dist, addonPath))}, import.meta.url)));
    return addon.exports;
  } catch {
    const req = createRequire(import.meta.url);
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
// The same code as one CommonJS script: Node starts a CommonJS entry without its ES module loader, ~60 ms
// less per call in the emulated VM (node empty.cjs 359 ms, node empty.mjs 421 ms). The launcher runs it.
// import.meta.url (used by createRequire) becomes the script's own path, where node_modules is found.
const asScript = {
  format: 'cjs',
  define: { 'import.meta.url': '__lvsadmUrl' },
  banner: { js: 'const __lvsadmUrl = require("node:url").pathToFileURL(__filename).href;' },
};
// Whitespace and syntax minified (names kept, for stack traces): V8 scans the whole script at start-up,
// 90 KB instead of 123 KB (lvsadm -Ln of 1,000 x 10 in the VM: 1.29 s vs 1.36 s, medians of 7).
await build({
  ...common,
  ...asScript,
  entryPoints: [`${root}src/cli/lvsadm/bin.ts`],
  outfile: `${dist}lvsadm.cjs`,
  minifyWhitespace: true,
  minifySyntax: true,
});
rmSync(`${dist}lvsadm.blob`, { force: true });
rmSync(`${dist}lvsadm-snapshot.cjs`, { force: true });
if (!process.argv.includes('--snapshot')) {
  if (!process.argv.includes('--bundle-only')) writeLauncher(false);
  console.log(`dist/lvsadm.mjs, dist/lvsadm.cjs${process.argv.includes('--bundle-only') ? '' : ', dist/lvsadm'}`);
  process.exit(0);
}

// The snapshot entry must be one CommonJS script too.
const snapshotScript = `${dist}lvsadm-snapshot.cjs`;
await build({ ...common, ...asScript, entryPoints: [`${root}src/cli/lvsadm/snapshot-entry.ts`], outfile: snapshotScript });
let snapshot = true;
try {
  execFileSync(process.execPath, ['--no-warnings', '--snapshot-blob', `${dist}lvsadm.blob`, '--build-snapshot', snapshotScript], { stdio: 'inherit' });
} catch {
  snapshot = false; // older Node: the launcher falls back to the bundle
}

writeLauncher(snapshot);
console.log(`dist/lvsadm.mjs, dist/lvsadm.cjs, dist/lvsadm${snapshot ? ', dist/lvsadm.blob' : ' (no snapshot)'}`);

/**
 * dist/lvsadm. With a snapshot: the snapshot when this is the machine that built it (a snapshot only loads
 * in the node binary, kernel and CPU model it was built on: V8 checks a hash of its configuration, and the
 * emulated VM's CPU differs from the host's; the launcher compares fingerprints with shell built-ins and two
 * small processes), else the CommonJS bundle. The snapshot is opt-in (--snapshot): in the emulated VM it
 * starts slower than the CommonJS bundle (lvsadm -h 0.73 s vs 0.51 s; -Ln of 1,000 x 10: 1.60 s vs 1.44 s).
 */
function writeLauncher(withSnapshot) {
  const NODE_FLAGS = '--v8-pool-size=1'; // as bin.ts's shebang, which says why
  const header = `#!/bin/sh
# lvsadm launcher (generated by src/cli/lvsadm/bundle.mjs${withSnapshot ? ' --snapshot' : ''})
`;
  if (!withSnapshot) {
    writeFileSync(`${dist}lvsadm`, `${header}exec node ${NODE_FLAGS} "\${0%/*}/lvsadm.cjs" "$@"\n`);
    chmodSync(`${dist}lvsadm`, 0o755);
    return;
  }
  const fingerprintExpr = '"$(command -v node) $(uname -srm) $(grep -h -m1 -e ^flags -e ^MemTotal /proc/cpuinfo /proc/meminfo)"';
  const fingerprint = execFileSync('sh', ['-c', `printf %s ${fingerprintExpr}`], { encoding: 'utf8' });
  const shellQuote = (t) => `'${t.replaceAll("'", "'\\''")}'`;
  writeFileSync(
    `${dist}lvsadm`,
    `${header}# The V8 start-up snapshot when this is the machine and node it was built with (${process.version}), else the bundle.
here=\${0%/*}
if [ -f "$here/lvsadm.blob" ] && [ "\${LVSADM_NO_SNAPSHOT:-}" != 1 ] &&
   [ ${fingerprintExpr} = ${shellQuote(fingerprint)} ]; then
  exec node ${NODE_FLAGS} --snapshot-blob "$here/lvsadm.blob" -- "$@"
fi
exec node ${NODE_FLAGS} "$here/lvsadm.cjs" "$@"
`,
  );
  chmodSync(`${dist}lvsadm`, 0o755);
}
