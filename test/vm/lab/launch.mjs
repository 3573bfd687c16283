// Lab launcher: the daemon as the CLI runs it (parent + VRRP child + checker child), with the test's
// pid files and console logs.
//   node test/vm/lab/launch.mjs CONFIG NAME RUNDIR [-I]
// Logs to stderr (console format, with debug lines). LKL_DIST=DIR uses another build than dist/.
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// LKL_DIST: a private build (tsc -p tsconfig.build.json --outDir DIR) so a concurrent `npm run build`
// cannot swap modules under a running test; default the repo's dist/.
const dist = process.env.LKL_DIST ? resolve(process.env.LKL_DIST) : new URL('../../../dist', import.meta.url).pathname;
const { runDaemon } = await import(pathToFileURL(join(dist, 'daemon/run.js')).href);

const [configFile, name, runDir, ...flags] = process.argv.slice(2);
if (!configFile || !name || !runDir) {
  process.stderr.write('usage: launch.mjs CONFIG NAME RUNDIR [-I]\n');
  process.exit(2);
}
const options = {
  configFile,
  configId: name,
  vrrpOnly: false,
  checkOnly: false,
  logConsole: true,
  logDetail: true,
  logJson: false,
  logFacility: 'daemon',
  noSyslog: true,
  dontReleaseVrrp: false,
  dontReleaseIpvs: flags.includes('-I'),
  dontRespawn: true,
  releaseVips: false,
  pidFile: join(runDir, `${name}.pid`),
  vrrpPidFile: join(runDir, `${name}-vrrp.pid`),
  checkersPidFile: join(runDir, `${name}-checkers.pid`),
};
const code = await runDaemon(options);
process.exit(code);
