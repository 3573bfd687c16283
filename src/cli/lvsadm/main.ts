// lvsadm's process wiring, callable in-process (the VM tests run it without paying Node's start-up per
// call): argv, output sinks and stdin in; exit status out. lvsadm/bin.ts binds it to the process.
import { readFileSync, writeSync } from 'node:fs';
import { openIpvs, ipvsErrorMessage } from '../../ipvs/client.js';
import { IPVS_TABLE_PATH, ProcFileReader } from '../../ipvs/proc-table.js';
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
  const ipvsTable = streams.ipvsTable;
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
    readIpvsTable: ipvsTable === null ? undefined : ipvsTable ? () => ipvsTable : startIpvsTableRead,
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

function startIpvsTableRead(): () => Promise<string> {
  const reader = ProcFileReader.start(IPVS_TABLE_PATH);
  return () => reader.text();
}

/** Runs lvsadm on this process's standard streams and exits with its status. Output is written to file
 * descriptors 1 and 2 directly, synchronously and whole, before the exit: process.stdout would first build a
 * stream (loading net, tty or fs streams), ~0.1 s of a call in the emulated VM. The bundle's entry (bin.ts)
 * and the snapshot's (snapshot-entry.ts) both end here. */
export function runLvsadmProcess(argv: readonly string[], program: string): void {
  const stdout = fdWriter(1);
  const stderr = fdWriter(2);
  lvsadmMain(argv, program, { stdout, stderr, stdin: () => readFileSync(0, 'latin1') }).then(
    (status) => process.exit(status),
    (e: unknown) => {
      stderr(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Writes text to a file descriptor in full: retries partial writes, and waits a millisecond on EAGAIN (a
 * non-blocking pipe that is full). Once the reader has gone (EPIPE, as in `lvsadm -Ln | head`), later
 * output is dropped, where ipvsadm would die of SIGPIPE.
 */
function fdWriter(fd: number): (text: string) => void {
  let closed = false;
  return (text) => {
    if (closed || text === '') return;
    const bytes = Buffer.from(text, 'utf8');
    for (let done = 0; done < bytes.length; ) {
      try {
        done += writeSync(fd, bytes, done);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        else if (code === 'EPIPE') {
          closed = true;
          return;
        } else throw e;
      }
    }
  };
}
