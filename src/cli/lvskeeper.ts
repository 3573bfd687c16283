#!/usr/bin/env node
// lvskeeper: keepalived-compatible HA daemon for LVS. See src/cli/args.ts for the options.
import { runCli } from './args.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
process.exitCode = code;
