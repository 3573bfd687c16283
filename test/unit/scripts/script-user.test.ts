import { describe, expect, it } from 'vitest';
import { createMemoryLogger } from '../../../src/daemon/log.js';
import { parseGroup, parsePasswd, resolveDefaultRunAs, resolveRunAs, sharedUserDatabase, staticUserDatabase, systemUserDatabase, type UserDatabaseIo } from '../../../src/scripts/script-user.js';

const db = staticUserDatabase(
  [
    { name: 'root', uid: 0, gid: 0 },
    { name: 'keepalived_script', uid: 998, gid: 997 },
    { name: 'nobody', uid: 65534, gid: 65534 },
  ],
  [{ name: 'adm', gid: 4 }],
);

describe('passwd and group parsing', () => {
  it('reads name, uid and gid, skipping junk', () => {
    const users = parsePasswd('root:x:0:0:root:/root:/bin/bash\n# c\nbad line\nk:x:998:997::/:/usr/sbin/nologin\n');
    expect([...users.values()]).toEqual([
      { name: 'root', uid: 0, gid: 0 },
      { name: 'k', uid: 998, gid: 997 },
    ]);
    expect(parseGroup('adm:x:4:syslog\nnope\n').get('adm')).toEqual({ name: 'adm', gid: 4 });
  });

  it('finds root on this machine', () => {
    expect(systemUserDatabase().user('root')).toEqual({ name: 'root', uid: 0, gid: 0 });
    expect(systemUserDatabase().user('no_such_user_lvsk')).toBeUndefined();
  });
});

describe('systemUserDatabase caching', () => {
  function fakeIo() {
    const files: Record<string, { text: string; stamp: number }> = {
      '/etc/passwd': { text: 'root:x:0:0::/root:/bin/sh\n', stamp: 1 },
      '/etc/group': { text: 'root:x:0:\n', stamp: 1 },
    };
    const calls = { read: 0, getent: [] as string[] };
    const io: UserDatabaseIo = {
      stamp: (p) => (files[p] ? String(files[p].stamp) : undefined),
      read: (p) => {
        calls.read++;
        return files[p]?.text ?? '';
      },
      getent: (db, name) => {
        calls.getent.push(`${db} ${name}`);
        return name === 'ldapuser' ? 'ldapuser:*:5000:5000::/home/ldapuser:/bin/sh\n' : undefined;
      },
    };
    return { files, calls, io };
  }

  it('asks NSS once per name, found or not (a reload does not fork getent again)', () => {
    const { calls, io } = fakeIo();
    const db = systemUserDatabase({}, io);
    for (let i = 0; i < 3; i++) {
      expect(db.user('keepalived_script')).toBeUndefined();
      expect(db.user('ldapuser')).toEqual({ name: 'ldapuser', uid: 5000, gid: 5000 });
      expect(db.user('root')?.uid).toBe(0);
    }
    expect(calls.getent).toEqual(['passwd keepalived_script', 'passwd ldapuser']);
    expect(calls.read).toBe(1);
  });

  it('reads /etc/passwd again when it changed: a user added with useradd is seen at once', () => {
    const { files, calls, io } = fakeIo();
    const db = systemUserDatabase({}, io);
    expect(db.user('keepalived_script')).toBeUndefined();
    files['/etc/passwd'] = { text: `${files['/etc/passwd']!.text}keepalived_script:x:990:990::/:/usr/sbin/nologin\n`, stamp: 2 };
    expect(db.user('keepalived_script')).toEqual({ name: 'keepalived_script', uid: 990, gid: 990 });
    expect(calls.read).toBe(2);
  });

  it('one shared database per process', () => {
    expect(sharedUserDatabase()).toBe(sharedUserDatabase());
  });
});

describe('resolveRunAs', () => {
  it('uses the user primary group unless a group is given', () => {
    expect(resolveRunAs('nobody', undefined, db)).toEqual({ ok: true, runAs: { user: 'nobody', uid: 65534, gid: 65534 } });
    expect(resolveRunAs('nobody', 'adm', db)).toEqual({ ok: true, runAs: { user: 'nobody', uid: 65534, gid: 4 } });
  });

  it('reports unknown users and groups in keepalived words', () => {
    expect(resolveRunAs('ghost', undefined, db)).toEqual({ ok: false, message: "Script user 'ghost' does not exist" });
    expect(resolveRunAs('nobody', 'ghosts', db)).toEqual({ ok: false, message: "Script group 'ghosts' does not exist" });
  });
});

describe('default script user', () => {
  const self = { user: 'root', uid: 0, gid: 0 };

  it('prefers script_user, then keepalived_script', () => {
    const log = createMemoryLogger();
    expect(resolveDefaultRunAs({ user: 'nobody' }, db, log, self)?.uid).toBe(65534);
    expect(resolveDefaultRunAs(undefined, db, log, self)).toEqual({ user: 'keepalived_script', uid: 998, gid: 997 });
    expect(log.lines).toEqual([]);
  });

  it('falls back to ourselves with keepalived 2.2.7 message when keepalived_script is missing', () => {
    const log = createMemoryLogger();
    expect(resolveDefaultRunAs(undefined, staticUserDatabase([]), log, self)).toBe(self);
    expect(log.lines.map((l) => l.msg)).toEqual(["Script user 'keepalived_script' does not exist"]);
  });

  it('has no default at all with enable_script_security and no keepalived_script (keepalived removes the scripts)', () => {
    const log = createMemoryLogger();
    expect(resolveDefaultRunAs(undefined, staticUserDatabase([]), log, self, true)).toBeUndefined();
    expect(resolveDefaultRunAs({ user: 'ghost' }, staticUserDatabase([]), log, self, true)).toBeUndefined();
    expect(resolveDefaultRunAs({ user: 'ghost' }, staticUserDatabase([]), log, self, false)).toBe(self);
    expect(log.lines.map((l) => l.msg)).toEqual([
      "Script user 'keepalived_script' does not exist",
      "Script user 'ghost' does not exist",
      'Error setting global script uid/gid',
      "Script user 'ghost' does not exist",
      'Error setting global script uid/gid',
    ]);
  });
});
