// Runs inside a network namespace (`ip netns exec NS node run-probes.mjs DIR SPECS_JSON`): runs each probe
// spec of the JSON array through the compiled src/check/probe, in turn, and prints the results as one JSON
// array.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const { runProbe } = await import(pathToFileURL(join(process.argv[2], 'check', 'probe', 'index.js')).href);
const results = [];
for (const spec of JSON.parse(process.argv[3])) results.push(await runProbe(spec, new AbortController().signal));
process.stdout.write(`${JSON.stringify(results)}\n`);
