// Entry of lvsadm's V8 start-up snapshot (dist/lvsadm.blob, built by `npm run build:lvsadm`): the bundle is
// evaluated once at build time, so a call only deserializes the heap and runs main. Started by the
// dist/lvsadm launcher as `node --snapshot-blob dist/lvsadm.blob -- ARGS`.
import { readFileSync } from 'node:fs';
import { startupSnapshot } from 'node:v8';
import { lvsadmMain } from './main.js';

startupSnapshot.setDeserializeMainFunction(() => {
  lvsadmMain(process.argv.slice(1), 'lvsadm', {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: () => readFileSync(0, 'latin1'),
  }).then(
    (status) => exitAfterOutput(status),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
});

/** Exits once everything written to stdout and stderr has been handed to the OS (a large listing written
 * to a pipe can still be queued when main returns). */
function exitAfterOutput(status: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(status)));
}
