#!/usr/bin/env -S node --v8-pool-size=1
// lvsadm: an ipvsadm 1.31-compatible command on lvskeeper's IPVS netlink client.
// Parsing (options.ts), formatting (format.ts) and execution (run.ts) are pure or separately testable
// modules; main.ts wires them; this file only binds that to the process. It is the entry of the bundle
// dist/lvsadm.mjs (bundle.mjs); src/cli/lvsadm.ts (the installed bin) runs that bundle or, without it, this.
// It deliberately imports nothing heavy (no yargs, pino or raw-socket): start-up time is most of a call.
// One V8 helper thread instead of Node's default four (the shebang's flag, which the dist/lvsadm launcher
// passes too): a call lives about a second, too short for background compiling and GC helpers to pay for
// starting and coordinating them (in the emulated test VM: `-R` of 11,000 lines 2.58 s -> 2.24 s, `node -e 0`
// 0.32 s -> 0.29 s; -Ln within noise).
import { runLvsadmProcess } from './main.js';

/** What ipvsadm prints as argv[0] in help and "Try ..." lines: the name this command was started as. */
function programName(): string {
  const script = process.argv[1] ?? 'lvsadm';
  const base = script.slice(script.lastIndexOf('/') + 1);
  return base.replace(/\.(c|m)?js$/, '') || 'lvsadm';
}

runLvsadmProcess(process.argv.slice(2), programName());
