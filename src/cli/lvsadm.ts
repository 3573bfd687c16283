#!/usr/bin/env node
// lvsadm: an ipvsadm 1.31-compatible command on lvskeeper's IPVS netlink client.
// Parsing (lvsadm/options.ts), formatting (lvsadm/format.ts) and execution (lvsadm/run.ts) are separate
// modules; this file only wires them to the process (argv, stdio, /proc, name services, the kernel).
// It deliberately imports nothing heavy (no yargs, pino or raw-socket): start-up time is most of a call.
import { readFileSync } from 'node:fs';
import { openIpvs, ipvsErrorMessage } from '../ipvs/client.js';
import type { IpvsError } from '../ipvs/types.js';
import { NUMERIC_ONLY } from './lvsadm/format.js';
import { ServicesDb, nameLookup, reverseLookup, systemResolver } from './lvsadm/names.js';
import { runArgv, type LvsadmClient, type LvsadmIo } from './lvsadm/run.js';

/** What ipvsadm prints as argv[0] in help and "Try ..." lines: the name this command was started as. */
function programName(): string {
  const script = process.argv[1] ?? 'lvsadm';
  const base = script.slice(script.lastIndexOf('/') + 1);
  return base.replace(/\.(c|m)?js$/, '') || 'lvsadm';
}

async function main(): Promise<number> {
  let stdout: string[] = [];
  const flushStdout = (): void => {
    if (stdout.length === 0) return;
    process.stdout.write(stdout.join(''));
    stdout = [];
  };
  let services: ServicesDb | undefined;
  let client: { close(): void } | undefined;
  const io: LvsadmIo = {
    out: (text) => {
      stdout.push(text);
    },
    err: (text) => {
      flushStdout();
      process.stderr.write(text);
    },
    names: (hosts) => {
      if (hosts.length === 0) return NUMERIC_ONLY; // numeric listings (and empty tables) need no lookups
      services ??= ServicesDb.load();
      return nameLookup(reverseLookup(hosts), services);
    },
    readConnections: () => readFileSync('/proc/net/ip_vs_conn', 'latin1'),
    readStdin: () => readFileSync(0, 'latin1'),
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
      io.err(`Can't initialize ipvs: ${message}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n`);
      process.exit(2);
    }
  };
  try {
    return await runArgv(process.argv.slice(2), programName(), connect, io);
  } finally {
    flushStdout();
    client?.close();
  }
}

main().then(
  (status) => process.exit(status),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
