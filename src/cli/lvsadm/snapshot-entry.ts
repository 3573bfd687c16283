// Entry of lvsadm's V8 start-up snapshot (dist/lvsadm.blob, built by `npm run build:lvsadm -- --snapshot`): the bundle is
// evaluated once at build time, so a call only deserializes the heap and runs main. Started by the
// dist/lvsadm launcher as `node --snapshot-blob dist/lvsadm.blob -- ARGS`.
import { startupSnapshot } from 'node:v8';
import { runLvsadmProcess } from './main.js';

startupSnapshot.setDeserializeMainFunction(() => runLvsadmProcess(process.argv.slice(1), 'lvsadm'));
