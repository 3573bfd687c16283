// Lab launcher: the daemon as the CLI will run it once src/daemon/run.ts calls attachCheckers itself
// (until then the checkers are attached here through runDaemon's onEngine hook).
//   node test/vm/lab/launch.mjs CONFIG NAME RUNDIR [-I]
// Logs to stderr (console format, with debug lines).
import { join } from 'node:path';
import { runDaemon } from '../../../dist/daemon/run.js';
import { attachCheckers } from '../../../dist/daemon/checkers.js';

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
const checkers = attachCheckers(options);
const code = await runDaemon(options, {
  onEngine: async (engine, config, log) => {
    await checkers(engine, config, log);
    // run.ts will call checkers.stop() in its stop sequence; here: alongside the engine's stop.
    const stopEngine = engine.stop.bind(engine);
    engine.stop = async () => {
      await Promise.all([stopEngine(), checkers.stop()]);
    };
  },
});
process.exit(code);
