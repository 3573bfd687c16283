#!/usr/bin/env node
// lvsadm from a build (`node dist/cli/lvsadm.js`; see lvsadm/bin.ts for the command itself). The installed
// bin (package.json "bin") is the CommonJS bundle dist/lvsadm.cjs, which starts faster still: no ES module
// loader (`lvsadm -Ln` of 1,000 x 10 in the VM: 1.38 s vs 1.59 s for the ES module bundle). Start-up is most of an
// lvsadm call, so this runs the single-file bundle dist/lvsadm.mjs (`npm run build` makes it; one file to
// load, and only the raw socket of the netlink package) when it sits next to this file's directory and is
// not older than this file (a later plain `tsc` leaves a stale bundle behind: then the module graph runs).
import { statSync } from 'node:fs';

const bundle = new URL('../lvsadm.mjs', import.meta.url);
let useBundle = false;
try {
  useBundle = statSync(bundle).mtimeMs >= statSync(new URL(import.meta.url)).mtimeMs;
} catch {
  // no bundle (a tsc-only build, or running from the sources)
}
await import(useBundle ? bundle.href : './lvsadm/bin.js');
