// Signals of the lvskeeper main process and keepalived's `--signum=NAME` table.
//
// keepalived 2.2.7 on Linux (checked with `keepalived --signum=NAME` on Debian):
//   STOP=15 (SIGTERM) RELOAD=1 (SIGHUP) DATA=10 (SIGUSR1) STATS=12 (SIGUSR2)
//   STATS_CLEAR=63 (SIGRTMAX) JSON=36 (SIGRTMIN+2)
// Names are upper case only; anything else is "Unknown sigfunc NAME" (exit 1).
//
// Node.js cannot catch realtime signals (process.on() only knows the names in
// os.constants.signals), and a realtime signal's default action is to terminate the process. So
// lvskeeper answers STATS_CLEAR and JSON on two classic signals whose default action is "ignore",
// which makes a stray one harmless: JSON = SIGWINCH (28), STATS_CLEAR = SIGURG (23). Scripts must
// therefore use `kill -s $(lvskeeper --signum=JSON) $(cat /run/lvskeeper.pid)`, never a number.

import { constants } from 'node:os';

export type SignalFunction = 'STOP' | 'RELOAD' | 'DATA' | 'STATS' | 'STATS_CLEAR' | 'JSON';

export interface SignalEntry {
  name: SignalFunction;
  /** What lvskeeper's main process listens to. */
  signal: NodeJS.Signals;
  /** The number `lvskeeper --signum=NAME` prints (Linux numbering). */
  number: number;
  /** keepalived 2.2.7's number for the same function, for documentation. */
  keepalivedNumber: number;
  description: string;
}

function num(sig: NodeJS.Signals): number {
  const n = constants.signals[sig];
  if (n === undefined) throw new Error(`signal ${sig} unknown on this platform`);
  return n;
}

export const SIGNAL_TABLE: readonly SignalEntry[] = Object.freeze([
  { name: 'STOP', signal: 'SIGTERM', number: num('SIGTERM'), keepalivedNumber: 15, description: 'stop: priority 0 adverts, VIPs and IPVS entries removed' },
  { name: 'RELOAD', signal: 'SIGHUP', number: num('SIGHUP'), keepalivedNumber: 1, description: 'reload the configuration' },
  { name: 'DATA', signal: 'SIGUSR1', number: num('SIGUSR1'), keepalivedNumber: 10, description: 'write the data dump file' },
  { name: 'STATS', signal: 'SIGUSR2', number: num('SIGUSR2'), keepalivedNumber: 12, description: 'write the stats file' },
  { name: 'STATS_CLEAR', signal: 'SIGURG', number: num('SIGURG'), keepalivedNumber: 63, description: 'write the stats file, then clear the counters' },
  { name: 'JSON', signal: 'SIGWINCH', number: num('SIGWINCH'), keepalivedNumber: 36, description: 'write the JSON state file' },
] satisfies SignalEntry[]);

/** `--signum=NAME` → the number to print, or undefined ("Unknown sigfunc NAME", exit 1). Case-sensitive like keepalived. */
export function signumFor(name: string): number | undefined {
  return SIGNAL_TABLE.find((e) => e.name === name)?.number;
}

/** The line keepalived prints for an unknown name. */
export function unknownSigfuncMessage(name: string): string {
  return `Unknown sigfunc ${name}`;
}

/** The function a received signal stands for (SIGINT is a STOP too). */
export function functionForSignal(signal: NodeJS.Signals): SignalFunction | undefined {
  if (signal === 'SIGINT') return 'STOP';
  return SIGNAL_TABLE.find((e) => e.signal === signal)?.name;
}

export type SignalHandlers = Partial<Record<SignalFunction, (signal: NodeJS.Signals) => void>>;

export interface SignalTarget {
  on(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/**
 * Installs handlers for the signal functions given (STOP listens to SIGTERM and SIGINT). Every
 * signal of the table is caught even without a handler, so a stray STATS_CLEAR/JSON/DATA can
 * never terminate the daemon. Returns a function that removes them again.
 */
export function installSignalHandlers(handlers: SignalHandlers, target: SignalTarget = process): () => void {
  const installed: Array<[NodeJS.Signals, (s: NodeJS.Signals) => void]> = [];
  const signals: NodeJS.Signals[] = [...SIGNAL_TABLE.map((e) => e.signal), 'SIGINT'];
  for (const sig of signals) {
    const fn = functionForSignal(sig);
    const listener = (s: NodeJS.Signals): void => {
      const h = fn === undefined ? undefined : handlers[fn];
      if (h) h(s);
    };
    target.on(sig, listener);
    installed.push([sig, listener]);
  }
  return () => {
    for (const [sig, l] of installed) target.off(sig, l);
  };
}
