// The script launcher process (see launcher.ts for why it exists): forked by the VRRP child, it runs
// each requested script with spawn.ts and reports its pid and its exit (the VRRP child signals the
// script's process group itself). It goes away with its parent.
import { serializeSpawnError, type LauncherReply, type LauncherRequest } from './launcher.js';
import { spawnScript } from './spawn.js';

function reply(msg: LauncherReply): void {
  // The parent is gone (EPIPE): nothing to report to; 'disconnect' ends this process.
  if (process.connected) process.send?.(msg, undefined, undefined, () => undefined);
}

process.on('message', (msg: LauncherRequest) => {
  const script = spawnScript(msg.script, msg.extraArgs, { captureStderr: msg.options.captureStderr });
  reply({ type: 'started', id: msg.id, pid: script.pid });
  void script.exited.then((exit) => {
    reply({ type: 'exit', id: msg.id, code: exit.code, signal: exit.signal, stderrTail: exit.stderrTail, spawnError: exit.spawnError && serializeSpawnError(exit.spawnError) });
  });
});

// Scripts lead their own sessions and run on without us, as they would after the VRRP child's death.
process.on('disconnect', () => process.exit(0));
