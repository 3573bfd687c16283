// Worker thread entry: `new Worker(new URL('./worker-main.js', import.meta.url))` from the built
// code, then talk to it with CheckerClient (worker.ts).

import { parentPort } from 'node:worker_threads';
import { serveCheckers } from './worker.js';

if (parentPort) serveCheckers(parentPort);
