// Placeholder until the VRRP engine lands: the daemon entry point that src/cli/lvskeeper.ts calls.
import type { DaemonOptions } from './options.js';

export async function runDaemon(options: DaemonOptions): Promise<number> {
  process.stderr.write(`lvskeeper: the daemon is not built yet (config ${options.configFile}); only -t and -d work\n`);
  return 1;
}
