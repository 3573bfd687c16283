// Process helpers shared by the netns and VM suites.

/**
 * SIGKILL to every process at once, as a cgroup kill (`systemctl kill -s KILL`, the OOM killer) does: all are
 * stopped first, so that none sees another die. Killed one after the other, a child whose parent died first
 * would stop cleanly (removing the VIPs and IPVS entries the test expects left behind); the realtime VRRP
 * child wins that race often on a loaded machine.
 */
export function killAllAtOnce(pids: readonly number[]): void {
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  for (const pid of pids) process.kill(pid, 'SIGKILL');
}
