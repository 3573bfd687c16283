#!/usr/bin/env node
// The lvsadm bin (package.json "bin"; see lvsadm/bin.ts for the command itself). Start-up is most of an
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
