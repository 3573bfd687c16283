// Runs inside a network namespace (`ip netns exec NS node routes-probe.mjs DIR OPS`): performs the JSON
// list of route manager operations OPS with the compiled src/net adapters and prints one JSON line per
// operation ({ok} or {error}). One process per call keeps the test free of long-lived probes.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const net = await import(pathToFileURL(join(process.argv[2], 'net', 'index.js')).href);
const m = await net.openRouteManager();
for (const [op, arg] of JSON.parse(process.argv[3])) {
  try {
    await m[op](arg);
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
  }
}
m.close();
process.exit(0);
