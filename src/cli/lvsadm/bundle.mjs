// Bundles lvsadm into one ES module (dist/lvsadm.mjs) so a call loads one file instead of a module graph:
// start-up time is most of an lvsadm call, above all in the emulated VM. `npm run build:lvsadm`.
// The IPVS client loads the `netlink` package through createRequire(); its index pulls in every netlink
// family (rtnetlink, nl80211, wireguard...) for ~140 ms, while the client only needs RawNetlinkSocket from
// netlink/dist/raw.js (~6 ms). A plugin hands the bundle a createRequire that maps 'netlink' to that file.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

const rawNetlinkOnly = {
  name: 'raw-netlink-only',
  setup(b) {
    b.onResolve({ filter: /^node:module$/ }, (args) =>
      args.namespace === 'lvsadm-shim' ? { path: 'node:module', external: true } : { path: 'node:module', namespace: 'lvsadm-shim' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lvsadm-shim' }, () => ({
      contents: `import { createRequire as realCreateRequire } from 'node:module';
export function createRequire(url) {
  const req = realCreateRequire(url);
  const narrowed = (id) => (id === 'netlink' ? req('netlink/dist/raw.js') : req(id));
  return Object.assign(narrowed, req);
}`,
      loader: 'js',
      resolveDir: root,
    }));
  },
};

await build({
  entryPoints: [`${root}src/cli/lvsadm.ts`],
  outfile: `${root}dist/lvsadm.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: false,
  legalComments: 'none',
  plugins: [rawNetlinkOnly],
  logLevel: 'warning',
});
