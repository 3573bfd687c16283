#!/usr/bin/env node
// lvsadm: an ipvsadm 1.31-compatible command on lvskeeper's IPVS netlink client.
// Parsing (options.ts), formatting (format.ts) and execution (run.ts) are pure or separately testable
// modules; main.ts wires them; this file only binds that to the process. It is the entry of the bundle
// dist/lvsadm.mjs (bundle.mjs); src/cli/lvsadm.ts (the installed bin) runs that bundle or, without it, this.
// It deliberately imports nothing heavy (no yargs, pino or raw-socket): start-up time is most of a call.
import { runLvsadmProcess } from './main.js';

/** What ipvsadm prints as argv[0] in help and "Try ..." lines: the name this command was started as. */
function programName(): string {
  const script = process.argv[1] ?? 'lvsadm';
  const base = script.slice(script.lastIndexOf('/') + 1);
  return base.replace(/\.(c|m)?js$/, '') || 'lvsadm';
}

runLvsadmProcess(process.argv.slice(2), programName());
