// Options of `lvskeeper` that reach the daemon, named after keepalived(8)'s long options.
// The command line (src/cli/lvskeeper.ts) fills this; the daemon (src/daemon/run.ts) reads it.

export interface DaemonOptions {
  /** -f, --use-file (default /etc/keepalived/keepalived.conf) */
  configFile: string;
  /** -i, --config-id (default: the short host name) */
  configId: string;
  /** -P, --vrrp: run only the VRRP engine */
  vrrpOnly: boolean;
  /** -C, --check: run only the checkers / IPVS */
  checkOnly: boolean;
  /** -l, --log-console */
  logConsole: boolean;
  /** -D, --log-detail */
  logDetail: boolean;
  /** --log-json: one JSON object per line, for machines */
  logJson: boolean;
  /** -S, --log-facility (0..7 for local0..local7, default daemon) */
  logFacility: string;
  /** -g, --log-file */
  logFile?: string | undefined;
  /** -G, --no-syslog */
  noSyslog: boolean;
  /** -V, --dont-release-vrrp */
  dontReleaseVrrp: boolean;
  /** -I, --dont-release-ipvs */
  dontReleaseIpvs: boolean;
  /** -R, --dont-respawn */
  dontRespawn: boolean;
  /** -X, --release-vips: drop VIPs on stop even if -V */
  releaseVips: boolean;
  /** -p / -r / -c pid files */
  pidFile: string;
  vrrpPidFile: string;
  checkersPidFile: string;
  /** -s, --namespace */
  namespace?: string | undefined;
  /** -u, --umask */
  umask?: number | undefined;
  /** --metrics-listen ADDR:PORT: serve Prometheus metrics there (off by default). */
  metricsListen?: string | undefined;
}
