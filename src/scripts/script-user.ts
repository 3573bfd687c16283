// Who scripts run as: `script_user USER [GROUP]` in global_defs, `user USER [GROUP]` per vrrp_script, and
// `notify_* "cmd" [USER [GROUP]]`. keepalived resolves names with getpwnam/getgrnam when it reads the
// config; a missing group defaults to the user's primary group; with no script_user the default is the
// `keepalived_script` user if it exists, otherwise the user keepalived runs as (root), logged as
// "Script user 'keepalived_script' does not exist" (2.2.7 wording; older versions said "WARNING - default
// user 'keepalived_script' for script execution does not exist - please create.").
//
// Lookups read /etc/passwd and /etc/group (pure parsers below) and fall back to `getent` for users that
// live in NSS (LDAP, sssd), once per name and process (see systemUserDatabase). Children get the uid/gid
// through child_process's uid/gid options; libuv also clears supplementary groups (setgroups(0)) as
// keepalived does.

import { readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Logger } from '../log/logger.js';

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

export interface UserDatabase {
  user(name: string): UserEntry | undefined;
  group(name: string): GroupEntry | undefined;
}

/** The identity a script runs as. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
}

export const DEFAULT_SCRIPT_USER = 'keepalived_script';

/** passwd(5) lines: name:passwd:uid:gid:gecos:home:shell. */
export function parsePasswd(text: string): Map<string, UserEntry> {
  const users = new Map<string, UserEntry>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    const [name, , uid, gid] = fields;
    if (!name || uid === undefined || gid === undefined || !/^\d+$/.test(uid) || !/^\d+$/.test(gid)) continue;
    if (!users.has(name)) users.set(name, { name, uid: Number(uid), gid: Number(gid) });
  }
  return users;
}

/** group(5) lines: name:passwd:gid:members. */
export function parseGroup(text: string): Map<string, GroupEntry> {
  const groups = new Map<string, GroupEntry>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, , gid] = line.split(':');
    if (!name || gid === undefined || !/^\d+$/.test(gid)) continue;
    if (!groups.has(name)) groups.set(name, { name, gid: Number(gid) });
  }
  return groups;
}

function getent(database: 'passwd' | 'group', name: string): string | undefined {
  try {
    const res = spawnSync('getent', [database, name], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    return res.status === 0 ? res.stdout : undefined;
  } catch {
    return undefined;
  }
}

/** What the user database reads; tests substitute fakes. */
export interface UserDatabaseIo {
  /** A file's change stamp (mtime and size), or undefined when it cannot be read. */
  stamp(path: string): string | undefined;
  read(path: string): string;
  getent(database: 'passwd' | 'group', name: string): string | undefined;
}

const systemIo: UserDatabaseIo = {
  stamp: (path) => {
    try {
      const st = statSync(path);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      return undefined;
    }
  },
  read: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  },
  getent,
};

/**
 * Users and groups: the files first, then getent (NSS). The files are read again when they change (a
 * stat per lookup); getent answers, found or not, are kept for the life of the database. getent
 * forks synchronously and NSS can be slow (20-90 ms for an unknown name here, seconds with an
 * unreachable LDAP server), and the VRRP process asks at every reload (keepalived_script, which most
 * systems do not have): so each name costs one getent per process, not one per reload. A user added
 * with useradd is seen at the next reload (the file changed); one added only in LDAP after start-up is
 * seen after a restart.
 */
export function systemUserDatabase(files: { passwd?: string; group?: string } = {}, io: UserDatabaseIo = systemIo): UserDatabase {
  const passwdPath = files.passwd ?? '/etc/passwd';
  const groupPath = files.group ?? '/etc/group';
  const fileTable = <T>(path: string, parse: (text: string) => Map<string, T>): (() => Map<string, T>) => {
    let stamp: string | undefined | null = null;
    let table = new Map<string, T>();
    return () => {
      const now = io.stamp(path);
      if (now !== stamp) {
        table = parse(io.read(path));
        stamp = now;
      }
      return table;
    };
  };
  const users = fileTable(passwdPath, parsePasswd);
  const groups = fileTable(groupPath, parseGroup);
  const nssUsers = new Map<string, UserEntry | undefined>();
  const nssGroups = new Map<string, GroupEntry | undefined>();
  const viaNss = <T>(cache: Map<string, T | undefined>, name: string, lookup: () => T | undefined): T | undefined => {
    if (!cache.has(name)) cache.set(name, lookup());
    return cache.get(name);
  };
  return {
    user: (name) => users().get(name) ?? viaNss(nssUsers, name, () => parsePasswd(io.getent('passwd', name) ?? '').get(name)),
    group: (name) => groups().get(name) ?? viaNss(nssGroups, name, () => parseGroup(io.getent('group', name) ?? '').get(name)),
  };
}

let processUserDatabase: UserDatabase | undefined;

/** The system database shared by every lookup of this process, so its getent answers outlive a reload. */
export function sharedUserDatabase(): UserDatabase {
  return (processUserDatabase ??= systemUserDatabase());
}

/** A database from fixed entries, for tests. */
export function staticUserDatabase(users: readonly UserEntry[], groups: readonly GroupEntry[] = []): UserDatabase {
  return {
    user: (name) => users.find((u) => u.name === name),
    group: (name) => groups.find((g) => g.name === name),
  };
}

export type RunAsResult = { ok: true; runAs: RunAs } | { ok: false; message: string };

/**
 * USER [GROUP] → uid/gid. Numeric ids are accepted as a convenience. The messages are keepalived's
 * ("Script user '%s' does not exist").
 */
export function resolveRunAs(user: string, group: string | undefined, db: UserDatabase): RunAsResult {
  let uid: number;
  let gid: number;
  const entry = db.user(user);
  if (entry) {
    uid = entry.uid;
    gid = entry.gid;
  } else if (/^\d+$/.test(user)) {
    uid = Number(user);
    gid = uid;
  } else {
    return { ok: false, message: `Script user '${user}' does not exist` };
  }
  if (group !== undefined) {
    const g = db.group(group);
    if (g) gid = g.gid;
    else if (/^\d+$/.test(group)) gid = Number(group);
    else return { ok: false, message: `Script group '${group}' does not exist` };
  }
  return { ok: true, runAs: { user, uid, gid } };
}

/** Who we are: the identity that needs no setuid. */
export function currentIdentity(): RunAs {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return { user: uid === 0 ? 'root' : String(uid), uid, gid };
}

/**
 * The default script identity, as keepalived 2.2.7 resolves it (global_data.c / notify.c):
 *  - `script_user` when configured;
 *  - else `keepalived_script` if that user exists;
 *  - else, logging "Script user 'keepalived_script' does not exist": ourselves (root) — unless
 *    `enable_script_security` is set, in which case there is NO default and every script without its
 *    own user is removed ("Unable to set default user for vrrp script chk - removing"). That is
 *    keepalived's answer to "scripts silently run as root" (#2184); we keep it and name each script.
 * Call it only when the configuration has scripts, as keepalived does.
 */
export function resolveDefaultRunAs(
  scriptUser: { user: string; group?: string | undefined } | undefined,
  db: UserDatabase,
  logger: Logger,
  self: RunAs = currentIdentity(),
  enableScriptSecurity = false,
): RunAs | undefined {
  if (scriptUser) {
    const res = resolveRunAs(scriptUser.user, scriptUser.group, db);
    if (res.ok) return res.runAs;
    logger.warn(res.message);
    logger.warn('Error setting global script uid/gid');
    return enableScriptSecurity ? undefined : self;
  }
  const fallback = db.user(DEFAULT_SCRIPT_USER);
  if (fallback) return { user: fallback.name, uid: fallback.uid, gid: fallback.gid };
  logger.warn(`Script user '${DEFAULT_SCRIPT_USER}' does not exist`);
  return enableScriptSecurity ? undefined : self;
}
