import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { fstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SYSLOG_FACILITY,
  SYSLOG_PRIORITY,
  createLogger,
  createMemoryLogger,
  formatConsoleLine,
  formatConsoleTimestamp,
  formatJournalLine,
  formatSyslogDatagram,
  isUnderJournal,
  loggerOptionsFromDaemon,
  parseSyslogFacility,
  planLogOutputs,
  type DatagramSender,
  type LineSink,
} from '../../../src/daemon/log.js';
import { loadNative } from '../../../src/net/native.js';

function captureSink(): LineSink & { chunks: string[]; text(): string } {
  const chunks: string[] = [];
  return {
    chunks,
    write(chunk: string) {
      chunks.push(chunk);
      return true;
    },
    text: () => chunks.join(''),
  };
}

const fixedDate = new Date(2026, 10, 25, 2, 41, 7); // local time, like keepalived's %c

describe('syslog priorities', () => {
  it('map levels to the syslog(3) numbers journald reads', () => {
    expect(SYSLOG_PRIORITY).toEqual({ error: 3, warn: 4, notice: 5, info: 6, debug: 7 });
  });
});

describe('console format (keepalived -l)', () => {
  it('formats the timestamp like strftime %c in the C locale', () => {
    expect(formatConsoleTimestamp(fixedDate)).toBe('Wed Nov 25 02:41:07 2026');
    expect(formatConsoleTimestamp(new Date(2026, 0, 5, 9, 3, 0))).toBe('Mon Jan  5 09:03:00 2026');
  });

  it('writes `timestamp: message` lines through createLogger', () => {
    const sink = captureSink();
    const log = createLogger({ console: true, json: false, detail: false, noSyslog: true, sink, underJournal: false, now: () => fixedDate, flushOnExit: false });
    expect(log.format).toBe('console');
    log.info('(VI_1) Entering MASTER STATE');
    log.warn('two\nlines');
    log.debug('hidden without -D');
    expect(sink.text()).toBe('Wed Nov 25 02:41:07 2026: (VI_1) Entering MASTER STATE\nWed Nov 25 02:41:07 2026: two lines\n');
    expect(formatConsoleLine(fixedDate, 'x')).toBe('Wed Nov 25 02:41:07 2026: x\n');
  });
});

describe('journal format (sd-daemon prefixes)', () => {
  it('prefixes each line with its priority', () => {
    const sink = captureSink();
    const log = createLogger({ console: false, json: false, detail: true, sink, underJournal: true, flushOnExit: false });
    expect(log.format).toBe('journal');
    log.info('(VI_1) Entering MASTER STATE');
    log.notice('NOTICE: something');
    log.warn('careful');
    log.error('broken');
    log.debug('details');
    log.child({ instance: 'VI_1' }).info('child lines keep the plain message');
    expect(sink.chunks).toEqual([
      '<6>(VI_1) Entering MASTER STATE\n',
      '<5>NOTICE: something\n',
      '<4>careful\n',
      '<3>broken\n',
      '<7>details\n',
      '<6>child lines keep the plain message\n',
    ]);
    expect(formatJournalLine('warn', 'a\nb')).toBe('<4>a b\n');
  });

  it('is chosen only when JOURNAL_STREAM names one of our fds', () => {
    expect(isUnderJournal({})).toBe(false);
    expect(isUnderJournal({ JOURNAL_STREAM: 'garbage' })).toBe(false);
    expect(isUnderJournal({ JOURNAL_STREAM: '1:1' })).toBe(false);
    expect(planLogOutputs({ json: false, console: false, env: {} })).toEqual({ stderr: undefined, syslog: true });
  });

  it('detects a stream whose dev:inode matches JOURNAL_STREAM', () => {
    const st = fstatSync(2, { bigint: true });
    expect(isUnderJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, [2])).toBe(true);
    expect(isUnderJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, [2])).toBe(false);
  });
});

describe('where lines go (keepalived rules, journal stream under systemd)', () => {
  it('follows -l, -G and --log-json outside systemd, and uses the journal stream alone under it', () => {
    const plan = (o: { json?: boolean; console?: boolean; noSyslog?: boolean; journal: boolean }) =>
      planLogOutputs({ json: o.json ?? false, console: o.console ?? false, noSyslog: o.noSyslog, underJournal: o.journal });
    expect(plan({ journal: false })).toEqual({ stderr: undefined, syslog: true });
    expect(plan({ journal: false, console: true })).toEqual({ stderr: 'console', syslog: true });
    expect(plan({ journal: false, console: true, noSyslog: true })).toEqual({ stderr: 'console', syslog: false });
    expect(plan({ journal: false, noSyslog: true })).toEqual({ stderr: undefined, syslog: false });
    expect(plan({ journal: true, console: true })).toEqual({ stderr: 'journal', syslog: false });
    expect(plan({ journal: true, noSyslog: true })).toEqual({ stderr: 'journal', syslog: false });
    expect(plan({ journal: true, json: true })).toEqual({ stderr: 'json', syslog: false });
    expect(plan({ journal: false, json: true, console: true })).toEqual({ stderr: 'json', syslog: false });
  });
});

/** A sender that records datagrams, or fails with `failWith` while it is set. */
function fakeSender(): DatagramSender & { sent: { path: string; text: string }[]; failWith?: NodeJS.ErrnoException | undefined } {
  const send = ((path: string, datagram: Buffer) => {
    if (send.failWith) throw send.failWith;
    send.sent.push({ path, text: datagram.toString('utf8') });
  }) as DatagramSender & { sent: { path: string; text: string }[]; failWith?: NodeJS.ErrnoException | undefined };
  send.sent = [];
  return send;
}

function errno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('syslog output (-S facility)', () => {
  it('maps -S like keepalived: 0..7 are local0..local7, default daemon', () => {
    expect(parseSyslogFacility(undefined)).toBe(3);
    expect(parseSyslogFacility('daemon')).toBe(3);
    expect(parseSyslogFacility('0')).toBe(16);
    expect(parseSyslogFacility('7')).toBe(23);
    expect(parseSyslogFacility('local3')).toBe(SYSLOG_FACILITY.local3);
    expect(parseSyslogFacility('8')).toBeUndefined();
    expect(parseSyslogFacility('07')).toBeUndefined();
    expect(parseSyslogFacility('kern')).toBeUndefined();
    expect(parseSyslogFacility('constructor')).toBeUndefined();
  });

  it('formats RFC 3164 datagrams as syslog(3) does: <facility*8+severity>, time, TAG[pid]:', () => {
    expect(formatSyslogDatagram(3, 'info', 'lvskeeper', 1234, fixedDate, '(VI_1) Entering MASTER STATE')).toBe(
      '<30>Nov 25 02:41:07 lvskeeper[1234]: (VI_1) Entering MASTER STATE',
    );
    const fifth = new Date(2026, 10, 5, 9, 3, 0);
    expect(formatSyslogDatagram(16, 'warn', 'lvskeeper_vrrp', 7, fifth, 'a\nb')).toBe('<132>Nov  5 09:03:00 lvskeeper_vrrp[7]: a b');
    expect(formatSyslogDatagram(23, 'error', 't', 1, fixedDate, 'x')).toMatch(/^<187>/);
    expect(formatSyslogDatagram(3, 'debug', 't', 1, fixedDate, 'x')).toMatch(/^<31>/);
  });

  it('sends every line to the syslog socket with the -S facility and the process name as tag', () => {
    const sink = captureSink();
    const send = fakeSender();
    const log = createLogger({ console: false, json: false, detail: false, facility: '2', processName: 'lvskeeper_vrrp', sink, underJournal: false, sendDatagram: send, syslogPath: '/run/test.sock', now: () => fixedDate, flushOnExit: false });
    expect(log.format).toBe('syslog');
    log.info('(VI_1) Entering MASTER STATE');
    log.warn('careful');
    log.debug('hidden without -D');
    log.error('broken');
    expect(send.sent).toEqual([
      { path: '/run/test.sock', text: `<150>Nov 25 02:41:07 lvskeeper_vrrp[${process.pid}]: (VI_1) Entering MASTER STATE` },
      { path: '/run/test.sock', text: `<148>Nov 25 02:41:07 lvskeeper_vrrp[${process.pid}]: careful` },
      { path: '/run/test.sock', text: `<147>Nov 25 02:41:07 lvskeeper_vrrp[${process.pid}]: broken` },
    ]);
    expect(sink.text()).toBe('');
  });

  it('with -l writes console lines on stderr and syslog datagrams; -G turns syslog off', () => {
    const sink = captureSink();
    const send = fakeSender();
    const log = createLogger({ console: true, json: false, detail: false, sink, underJournal: false, sendDatagram: send, now: () => fixedDate, flushOnExit: false });
    log.info('both');
    expect(sink.text()).toBe('Wed Nov 25 02:41:07 2026: both\n');
    expect(send.sent.map((d) => d.text)).toEqual([`<30>Nov 25 02:41:07 lvskeeper[${process.pid}]: both`]);
    expect(send.sent[0]?.path).toBe('/dev/log');

    const quiet = fakeSender();
    const noSyslog = createLogger({ console: true, json: false, detail: false, noSyslog: true, sink: captureSink(), underJournal: false, sendDatagram: quiet, flushOnExit: false });
    noSyslog.info('console only');
    expect(quiet.sent).toEqual([]);
  });

  it('falls back to stderr with one warning per outage when the socket refuses a line', () => {
    const sink = captureSink();
    const send = fakeSender();
    send.failWith = errno('ENOENT', 'sendto(AF_UNIX): No such file or directory');
    const log = createLogger({ console: false, json: false, detail: false, sink, underJournal: false, sendDatagram: send, now: () => fixedDate, flushOnExit: false });
    log.info('one');
    log.info('two');
    send.failWith = undefined;
    log.info('three');
    send.failWith = errno('ECONNREFUSED', 'sendto(AF_UNIX): Connection refused');
    log.info('four');
    expect(sink.chunks).toEqual([
      'Wed Nov 25 02:41:07 2026: syslog socket /dev/log unavailable (ENOENT: sendto(AF_UNIX): No such file or directory) - logging to stderr\n',
      'Wed Nov 25 02:41:07 2026: one\n',
      'Wed Nov 25 02:41:07 2026: two\n',
      'Wed Nov 25 02:41:07 2026: syslog socket /dev/log unavailable (ECONNREFUSED: sendto(AF_UNIX): Connection refused) - logging to stderr\n',
      'Wed Nov 25 02:41:07 2026: four\n',
    ]);
    expect(send.sent.map((d) => d.text.replace(/^.*: /, ''))).toEqual(['three']);
  });

  it('does not copy lines to stderr a second time when -l already writes them there', () => {
    const sink = captureSink();
    const send = fakeSender();
    send.failWith = errno('ENOENT', 'gone');
    const log = createLogger({ console: true, json: false, detail: false, sink, underJournal: false, sendDatagram: send, now: () => fixedDate, flushOnExit: false });
    log.info('once');
    expect(sink.text()).toBe('Wed Nov 25 02:41:07 2026: once\n');
  });

  it('says so and uses daemon for an unknown -S facility', () => {
    const sink = captureSink();
    const send = fakeSender();
    createLogger({ console: true, json: false, detail: false, facility: 'kern', sink, underJournal: false, sendDatagram: send, now: () => fixedDate, flushOnExit: false });
    expect(sink.text()).toBe('Wed Nov 25 02:41:07 2026: -S kern: unknown syslog facility (0-7 for local0-local7, or daemon) - using daemon\n');
    expect(send.sent.map((d) => d.text)).toEqual([`<27>Nov 25 02:41:07 lvskeeper[${process.pid}]: -S kern: unknown syslog facility (0-7 for local0-local7, or daemon) - using daemon`]);
  });
});

const python = spawnSync('python3', ['-c', 'pass']).status === 0;
const addon = loadNative().addon !== undefined;

/** Binds an AF_UNIX datagram socket at `path` (node:dgram has none) and collects `count` datagrams. */
function datagramReceiver(path: string, count: number): { ready: Promise<void>; received: Promise<string[]> } {
  const py = spawn('python3', [
    '-c',
    'import json,socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("ready",flush=True)\n' +
      'for _ in range(int(sys.argv[2])): print(json.dumps(s.recv(65536).decode()),flush=True)',
    path,
    String(count),
  ]);
  let out = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => (onReady = r));
  const received = new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => (py.kill(), reject(new Error(`receiver at ${path}: ${count} datagrams not received; got ${out}`))), 10_000);
    py.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.startsWith('ready\n')) onReady();
    });
    py.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`python receiver exited ${code}: ${out}`));
      resolve(out.trimEnd().split('\n').slice(1).map((l) => JSON.parse(l) as string));
    });
  });
  return { ready, received };
}

describe.skipIf(!python || !addon)('syslog output to a real unix datagram socket (native addon)', () => {
  it('delivers one RFC 3164 datagram per line to the socket path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-syslog-'));
    try {
      const path = join(dir, 'log');
      const rx = datagramReceiver(path, 3);
      await rx.ready;
      const sink = captureSink();
      const log = createLogger({ console: false, json: false, detail: true, facility: '0', processName: 'lvskeeper_vrrp', syslogPath: path, sink, underJournal: false, now: () => fixedDate, flushOnExit: false });
      log.info('(VI_1) Entering MASTER STATE');
      log.child({ instance: 'VI_1' }).warn('(VI_1) sent 0 priority');
      log.debug('Stopped lvskeeper v0.0.0');
      expect(await rx.received).toEqual([
        `<134>Nov 25 02:41:07 lvskeeper_vrrp[${process.pid}]: (VI_1) Entering MASTER STATE`,
        `<132>Nov 25 02:41:07 lvskeeper_vrrp[${process.pid}]: (VI_1) sent 0 priority`,
        `<135>Nov 25 02:41:07 lvskeeper_vrrp[${process.pid}]: Stopped lvskeeper v0.0.0`,
      ]);
      expect(sink.text()).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to stderr, naming the socket and the errno, when nothing listens at the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-syslog-'));
    try {
      const path = join(dir, 'absent');
      const sink = captureSink();
      const log = createLogger({ console: false, json: false, detail: false, syslogPath: path, sink, underJournal: false, now: () => fixedDate, flushOnExit: false });
      log.info('(VI_1) Entering BACKUP STATE');
      expect(sink.chunks).toEqual([
        `Wed Nov 25 02:41:07 2026: syslog socket ${path} unavailable (ENOENT: sendto(AF_UNIX): No such file or directory) - logging to stderr\n`,
        'Wed Nov 25 02:41:07 2026: (VI_1) Entering BACKUP STATE\n',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('json format (--log-json)', () => {
  it('writes one pino object per line with bindings and fields', () => {
    const sink = captureSink();
    const log = createLogger({ console: false, json: true, detail: false, sink, processName: 'lvskeeper_vrrp', flushOnExit: false });
    expect(log.format).toBe('json');
    log.info('(VI_1) Entering MASTER STATE', { instance: 'VI_1', state: 'MASTER' });
    log.child({ script: 'chk' }).notice('VRRP_Script(chk) succeeded');
    log.debug('not without detail');
    const lines = sink.text().trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, msg: '(VI_1) Entering MASTER STATE', instance: 'VI_1', state: 'MASTER', name: 'lvskeeper_vrrp', pid: process.pid });
    expect(typeof lines[0]?.time).toBe('string');
    expect(lines[1]).toMatchObject({ level: 35, msg: 'VRRP_Script(chk) succeeded', script: 'chk' });
  });

  it('writes debug lines with detail', () => {
    const sink = captureSink();
    const log = createLogger({ console: false, json: true, detail: true, sink, flushOnExit: false });
    log.debug('now visible');
    expect(JSON.parse(sink.text())).toMatchObject({ level: 20, msg: 'now visible' });
  });
});

describe('file output and flushing', () => {
  it('drain() waits for a write still in flight (so close() cannot put later lines before it), at most its timeout', async () => {
    const sink = { _writing: true, lines: [] as string[], write(l: string) { this.lines.push(l); }, flushSync() {} };
    const log = createLogger({ console: false, json: false, detail: false, noSyslog: true, underJournal: true, sink, flushOnExit: false });
    setTimeout(() => (sink._writing = false), 40);
    let t = performance.now();
    await log.drain();
    expect(performance.now() - t).toBeGreaterThanOrEqual(35);
    sink._writing = true;
    t = performance.now();
    await log.drain(60);
    expect(performance.now() - t).toBeLessThan(500);
    expect(performance.now() - t).toBeGreaterThanOrEqual(55);
  });

  it('syncWrites (the parent): every line is in the file when info() returns', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-log-'));
    try {
      const file = join(dir, 'sync.log');
      const log = createLogger({ console: false, json: false, detail: false, noSyslog: true, file, underJournal: false, syncWrites: true, flushOnExit: false });
      // Asynchronously, the first write would still be in libuv's thread pool and the rest buffered behind it.
      for (let i = 0; i < 200; i++) log.info(`line ${i}`);
      expect(readFileSync(file, 'utf8').trimEnd().split('\n')).toHaveLength(200);
      log.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('appends console-format lines to -g FILE and flushes them when the process exits at once', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsk-log-'));
    try {
      const file = join(dir, 'lvskeeper.log');
      const child = join(dir, 'child.ts');
      const logModule = fileURLToPath(new URL('../../../src/daemon/log.ts', import.meta.url));
      // Logs 200 lines and exits in the same tick: without the exit flush the async writes are lost.
      writeFileSync(
        child,
        `import { createLogger } from ${JSON.stringify(logModule)};
const log = createLogger({ console: true, json: false, detail: false, noSyslog: true, file: ${JSON.stringify(file)}, underJournal: false });
for (let i = 0; i < 200; i++) log.info('line ' + i);
process.exit(0);
`,
      );
      const viteNode = fileURLToPath(new URL('../../../node_modules/.bin/vite-node', import.meta.url));
      const res = spawnSync(viteNode, [child], { encoding: 'utf8', timeout: 15_000 });
      expect(res.status, res.stderr.slice(-2000)).toBe(0);
      expect(res.stderr.split('\n').filter((l) => / line \d+$/.test(l))).toHaveLength(200);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(200);
      expect(lines[199]).toMatch(/^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}: line 199$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('memory logger', () => {
  it('records levels, messages and bindings', () => {
    const log = createMemoryLogger();
    log.child({ a: 1 }).warn('w', { b: 2 });
    expect(log.lines).toEqual([{ level: 'warn', msg: 'w', bindings: { a: 1 }, fields: { b: 2 } }]);
  });
});

describe('options from the command line', () => {
  it('maps -l/-D/--log-json/-S/-g', () => {
    expect(loggerOptionsFromDaemon({ logConsole: true, logDetail: true, logJson: false, logFacility: 'local0', noSyslog: true, logFile: '/var/log/k.log' }, 'lvskeeper_vrrp')).toEqual({
      console: true,
      json: false,
      detail: true,
      facility: 'local0',
      noSyslog: true,
      file: '/var/log/k.log',
      processName: 'lvskeeper_vrrp',
    });
  });
});
