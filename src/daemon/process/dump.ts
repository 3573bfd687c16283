// Dump files written on USR1 (data), USR2 / STATS_CLEAR (stats) and JSON, like keepalived's
// /tmp/keepalived.data, /tmp/keepalived.stats, /tmp/keepalived.json but under lvskeeper's names so a
// keepalived on the same machine is never overwritten. global_defs state_file_location /
// stats_file_location / json_file_location override them (a path ending in "/" or naming an
// existing directory gets the default file name inside it).
//
// Files are replaced atomically with mode 0600 (fresh inode, whatever the old file's mode or
// owner was), and authentication passwords are always redacted — keepalived before 2.4.0 dumped
// the PASS password in clear.

import { closeSync, fchmodSync, openSync, renameSync, statSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { REDACTED } from '../../config/json.js';
import type { GlobalDefs } from '../../config/model.js';
import type { VrrpCounters } from '../status/model.js';

export type DumpFileKind = 'data' | 'stats' | 'json';

export const DEFAULT_DUMP_FILES: Readonly<Record<DumpFileKind, string>> = Object.freeze({
  data: '/tmp/lvskeeper.data',
  stats: '/tmp/lvskeeper.stats',
  json: '/tmp/lvskeeper.json',
});

type Locations = Pick<GlobalDefs, 'stateFileLocation' | 'statsFileLocation' | 'jsonFileLocation'>;

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Where a dump of this kind goes, honouring global_defs. */
export function dumpFilePath(kind: DumpFileKind, global?: Partial<Locations>): string {
  const configured = kind === 'data' ? global?.stateFileLocation : kind === 'stats' ? global?.statsFileLocation : global?.jsonFileLocation;
  const def = DEFAULT_DUMP_FILES[kind];
  if (!configured) return def;
  if (configured.endsWith('/') || isDirectory(configured)) return join(configured, basename(def));
  return configured;
}

const SECRET_KEYS = new Set(['password', 'authPass', 'auth_pass', 'authPassword', 'secret']);

/** A deep copy with every password-like field replaced by "<redacted>". */
export function redactSecrets<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (k, v: unknown) => (SECRET_KEYS.has(k) && v !== undefined && v !== null ? REDACTED : v)),
  ) as T;
}

/** Redacts `auth_pass VALUE` in free text (raw configuration lines quoted in a text dump). */
export function redactText(text: string): string {
  return text.replace(/(\bauth_pass\s+)("[^"]*"|\S+)/g, `$1${REDACTED}`);
}

/** Writes content to path atomically (temp file in the same directory + rename), mode 0600. */
export function writeDumpFile(path: string, content: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  // O_EXCL|O_NOFOLLOW: never write through a symlink planted in a world-writable /tmp
  const fd = openSync(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    fchmodSync(fd, 0o600);
    const buf = Buffer.from(content, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* closed */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* gone */
    }
    // writeSync's error names no file: say which one could not be written.
    if (e instanceof Error) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

/** The JSON dump: redacted, pretty-printed, newline-terminated. */
export function renderJsonDump(data: unknown): string {
  return `${JSON.stringify(redactSecrets(data), null, 2)}\n`;
}

export interface DumpSection {
  title: string;
  /** Lines or key/value pairs, in order; nested objects are indented. */
  body: Record<string, unknown> | string[];
}

/** The text data dump ("------< Title >------" sections, `key = value` lines), redacted. */
export function renderDataDump(sections: DumpSection[], header = `lvskeeper data dump, ${new Date().toISOString()}`): string {
  const out: string[] = [header, ''];
  const put = (obj: unknown, indent: string): void => {
    if (Array.isArray(obj)) {
      for (const item of obj) {
        if (item !== null && typeof item === 'object') {
          put(item, indent);
          out.push('');
        } else out.push(`${indent}${String(item)}`);
      }
      return;
    }
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      if (v === undefined) continue;
      if (v !== null && typeof v === 'object') {
        out.push(`${indent}${k}:`);
        put(v, `${indent}  `);
      } else out.push(`${indent}${k} = ${String(v)}`);
    }
  };
  for (const s of sections) {
    out.push(`------< ${s.title} >------`);
    put(redactSecrets(s.body), ' ');
    out.push('');
  }
  return redactText(out.join('\n'));
}

/** Counters of one VRRP instance, as keepalived's stats file shows them. */
export interface VrrpInstanceStats extends VrrpCounters {
  instance: string;
  /** lvskeeper: every receive drop by reason ("ttl", "auth-pass", ...), printed after keepalived's counters. */
  drops?: Record<string, number> | undefined;
}

/** keepalived's /tmp/keepalived.stats layout. */
export function renderStats(stats: VrrpInstanceStats[]): string {
  return stats
    .map((s) =>
      [
        `VRRP Instance: ${s.instance}`,
        '  Advertisements:',
        `    Received: ${s.advertRcvd}`,
        `    Sent: ${s.advertSent}`,
        `  Became master: ${s.becomeMaster}`,
        `  Released master: ${s.releaseMaster}`,
        '  Packet Errors:',
        `    Length: ${s.packetLenErr}`,
        `    TTL: ${s.ipTtlErr}`,
        `    Invalid Type: ${s.invalidTypeRcvd}`,
        `    Advertisement Interval: ${s.advertIntervalErr}`,
        `    Address List: ${s.addrListErr}`,
        '  Authentication Errors:',
        `    Invalid Type: ${s.invalidAuthType}`,
        `    Type Mismatch: ${s.authTypeMismatch}`,
        `    Failure: ${s.authFailure}`,
        '  Priority Zero:',
        `    Received: ${s.priZeroRcvd}`,
        `    Sent: ${s.priZeroSent}`,
        ...(s.drops ? [`  Drops: ${Object.entries(s.drops).map(([k, v]) => `${k}=${v}`).join(' ') || 'none'}`] : []),
        '',
      ].join('\n'),
    )
    .join('');
}

/** Writes one dump where global_defs says; returns the path written. */
export function writeDump(kind: DumpFileKind, content: string, global?: Partial<Locations>): string {
  const path = dumpFilePath(kind, global);
  writeDumpFile(path, kind === 'json' ? content : redactText(content));
  return path;
}
