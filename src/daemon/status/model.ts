// What `lvskeeper status`, `--json` and the Prometheus metrics show: one snapshot of the daemon,
// assembled by the parent from its own counters and its children's answers to a `status` request.
// The JSON form is a documented, versioned schema (docs/status.schema.json): fields may be added in a
// version, never renamed or removed; `schema` changes when they are.

export const STATUS_SCHEMA = 1;

export type VrrpStateName = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT' | 'STOP';

/** keepalived's per-instance counters (its stats file and the exporters' keepalived_* families). */
export interface VrrpCounters {
  advertRcvd: number;
  advertSent: number;
  becomeMaster: number;
  releaseMaster: number;
  packetLenErr: number;
  ipTtlErr: number;
  invalidTypeRcvd: number;
  advertIntervalErr: number;
  addrListErr: number;
  invalidAuthType: number;
  authTypeMismatch: number;
  authFailure: number;
  priZeroRcvd: number;
  priZeroSent: number;
}

export interface Transition {
  from: string;
  to: string;
  /** "advert timeout", "higher priority 150 from 192.168.60.112", "track_script lvs_check failed", … */
  reason: string;
  /** Milliseconds since the epoch. */
  at: number;
}

export interface SplitBrainStatus {
  /** The other router's address. */
  peer: string;
  /** What differs, in words: "auth_pass differs", "advert_int 2 s instead of 1 s", "also master". */
  difference: string;
  since: number;
}

export interface InstanceStatus {
  name: string;
  vrid: number;
  family: 'inet' | 'inet6';
  interface?: string | undefined;
  state: VrrpStateName;
  /** When it entered this state (ms since the epoch). */
  since: number;
  basePriority: number;
  effectivePriority: number;
  /** The trackers that moved the priority away from the base one (or put the instance in FAULT: delta null). */
  priorityChanges: Array<{ tracker: string; delta: number | null }>;
  /** The current master's address as last heard (this node's own when MASTER). */
  masterAddress?: string | undefined;
  vips: string[];
  /** The VIPs present on this node now (all of them when MASTER, none otherwise). */
  vipsPresent: boolean;
  syncGroup?: string | undefined;
  lastTransition?: Transition | undefined;
  counters: VrrpCounters;
  /** VRRP timers that fired late (lvskeeper_late_timers_total). */
  lateTimers: number;
  splitBrain?: SplitBrainStatus | undefined;
  splitBrainEvents: number;
}

export interface TrackerStatus {
  kind: 'script' | 'interface' | 'file' | 'process';
  name: string;
  /** "good"/"bad" for scripts, "up"/"down" for interfaces, the value for files, "running"/"not running" for processes (with the count: "running (2 processes, quorum 1)"). */
  result: string;
  /** Milliseconds since the epoch of the last change, when known. */
  since?: number | undefined;
  /** A script's last exit status, when it ran. */
  exitStatus?: number | undefined;
  /** A script's run state in keepalived's words (keepalived_script_state), when known. */
  scriptState?: 'idle' | 'running' | 'requested termination' | 'forcing termination' | undefined;
}

/** A histogram its producer keeps (counts since start), for the Prometheus metrics. */
export interface HistogramTotals {
  /** Upper bounds in seconds, ascending, without +Inf. */
  bounds: number[];
  /** Cumulative: counts[i] observations were at most bounds[i]. */
  counts: number[];
  /** All observations (the +Inf bucket), and the sum of their values in seconds. */
  count: number;
  sum: number;
}

/** Kernel IPVS counters (ip_vs_stats): what the gen2brain exporter's keepalived_lvs_* families show. */
export interface IpvsCounters {
  connections: number;
  packetsIn: number;
  packetsOut: number;
  bytesIn: number;
  bytesOut: number;
}

export interface RealServerStatus {
  address: string;
  port: number;
  alive: boolean;
  since?: number | undefined;
  lastError?: string | undefined;
  /** The weight in the kernel now; undefined when the real server is not in IPVS here. */
  kernelWeight?: number | undefined;
  /** The real server's health checkers, and how many of them fail now. */
  checkers: number;
  checkersFailing: number;
  /** Every health check's duration since start (lvskeeper_real_server_check_duration_seconds). */
  checkDurations?: HistogramTotals | undefined;
  /** Probes completed since the checker child started, and how many failed. */
  checksRun?: number | undefined;
  checksFailed?: number | undefined;
  stats?: IpvsCounters | undefined;
}

export interface VirtualServerStatus {
  /** keepalived's label: "[192.168.60.200]:tcp:80" or "FWM 5". */
  label: string;
  protocol: string;
  address?: string | undefined;
  port?: number | undefined;
  fwmark?: number | undefined;
  quorumUp: boolean;
  /** Whether this node has it in IPVS now, and why (or why not). */
  programmedHere: boolean;
  why: string;
  realServers: RealServerStatus[];
  stats?: IpvsCounters | undefined;
}

export interface DaemonStatus {
  pid: number;
  version: string;
  configFile: string;
  routerId?: string | undefined;
  startedAt: number;
  reloads: { ok: number; refused: number };
  childRespawns: { vrrp: number; checker: number };
}

export interface StatusSnapshot {
  schema: typeof STATUS_SCHEMA;
  /** When the snapshot was taken (ms since the epoch). */
  at: number;
  daemon: DaemonStatus;
  instances: InstanceStatus[];
  syncGroups: Array<{ name: string; state: string; instances: string[] }>;
  trackers: TrackerStatus[];
  virtualServers: VirtualServerStatus[];
  /** GC pauses over 10 ms per process role (lvskeeper_gc_pauses_total). */
  gcPauses?: Record<string, number> | undefined;
}
