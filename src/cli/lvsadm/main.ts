// lvsadm's process wiring, callable in-process (the VM tests run it without paying Node's start-up per
// call): argv, output sinks and stdin in; exit status out. lvsadm/bin.ts binds it to the process.
import { readFileSync } from 'node:fs';
import { openIpvs, ipvsErrorMessage } from '../../ipvs/client.js';
import { IPVS_TABLE_PATH } from '../../ipvs/proc-table.js';
import type { IpvsError } from '../../ipvs/types.js';
import { NUMERIC_ONLY } from './format.js';
import { ServicesDb, nameLookup, reverseLookup, systemResolver } from './names.js';
import { runArgv, type LvsadmClient, type LvsadmIo } from './run.js';

export interface LvsadmStreams {
  stdout(text: string): void;
  stderr(text: string): void;
  /** All of stdin (read only by -R). */
  stdin(): string;
  /** /proc/net/ip_vs_conn (read only by -c). */
  connections?: () => string;
  /** /proc/net/ip_vs (read by table listings); `null`: never read it, ask GET_DEST per service. */
  ipvsTable?: (() => string) | null;
}

export async function lvsadmMain(argv: readonly string[], program: string, streams: LvsadmStreams): Promise<number> {
  let pending: string[] = [];
  const flushStdout = (): void => {
    if (pending.length === 0) return;
    streams.stdout(pending.join(''));
    pending = [];
  };
  let services: ServicesDb | undefined;
  let client: { close(): void } | undefined;
  const io: LvsadmIo = {
    out: (text) => {
      pending.push(text);
    },
    err: (text) => {
      flushStdout(); // keep ipvsadm's interleaving of listings and messages
      streams.stderr(text);
    },
    names: (hosts) => {
      if (hosts.length === 0) return NUMERIC_ONLY; // numeric listings (and empty tables) need no lookups
      services ??= ServicesDb.load();
      return nameLookup(reverseLookup(hosts), services);
    },
    readConnections: streams.connections ?? (() => readFileSync('/proc/net/ip_vs_conn', 'latin1')),
    readIpvsTable: streams.ipvsTable === null ? undefined : (streams.ipvsTable ?? (() => readFileSync(IPVS_TABLE_PATH, 'latin1'))),
    readStdin: streams.stdin,
    resolver: systemResolver(),
    errorMessage: (err: IpvsError) => ipvsErrorMessage(err),
  };
  const connect = async (): Promise<LvsadmClient> => {
    try {
      const c = await openIpvs();
      client = c;
      return c;
    } catch (e) {
      const message = typeof (e as IpvsError).errno === 'number' ? ipvsErrorMessage(e as IpvsError) : String(e);
      throw new CannotInitialize(message);
    }
  };
  try {
    return await runArgv(argv, program, connect, io);
  } catch (e) {
    if (!(e instanceof CannotInitialize)) throw e;
    // ipvsadm main(): ipvs_init() failed
    io.err(`Can't initialize ipvs: ${e.message}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n`);
    return 2;
  } finally {
    flushStdout();
    client?.close();
  }
}

class CannotInitialize extends Error {}

/** Runs lvsadm on this process's standard streams and exits with its status, once everything written to
 * stdout and stderr has been handed to the OS (a large listing written to a pipe can still be queued when
 * main returns). The bundle's entry (bin.ts) and the snapshot's (snapshot-entry.ts) both end here. */
export function runLvsadmProcess(argv: readonly string[], program: string): void {
  lvsadmMain(argv, program, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    stdin: () => readFileSync(0, 'latin1'),
  }).then(
    (status) => process.stdout.write('', () => process.stderr.write('', () => process.exit(status))),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}
