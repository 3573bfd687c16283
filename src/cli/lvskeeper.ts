#!/usr/bin/env node
// lvskeeper: keepalived-compatible HA daemon for LVS. See src/cli/args.ts for the options.
// `lvskeeper lab [--scripted]` runs the live seed lab (src/lab), the same as `npm run lab`.
// `lvskeeper status [--json] [--watch]` asks the running daemon (src/cli/status.ts).
import { runCli } from './args.js';

const argv = process.argv.slice(2);
if (argv[0] === 'status') {
  const { runStatus } = await import('./status.js');
  process.exitCode = await runStatus(argv.slice(1), { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
} else if (argv[0] === 'lab') {
  const { runLab } = await import('../lab/main.js');
  process.exitCode = await runLab(argv.slice(1));
} else {
  process.exitCode = await runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
