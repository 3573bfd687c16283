import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SYSLOG_PRIORITY,
  chooseLogFormat,
  createLogger,
  createMemoryLogger,
  formatConsoleLine,
  formatConsoleTimestamp,
  formatJournalLine,
  isUnderJournal,
  loggerOptionsFromDaemon,
  type LineSink,
} from '../../../src/daemon/log.js';

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
    const log = createLogger({ console: true, json: false, detail: false, sink, underJournal: false, now: () => fixedDate, flushOnExit: false });
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
    expect(chooseLogFormat({ json: false, env: {} })).toBe('console');
    expect(chooseLogFormat({ json: true, underJournal: true })).toBe('json');
  });

  it('detects a stream whose dev:inode matches JOURNAL_STREAM', () => {
    const st = fstatSync(2, { bigint: true });
    expect(isUnderJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, [2])).toBe(true);
    expect(isUnderJournal({ JOURNAL_STREAM: `${st.dev}:${st.ino + 1n}` }, [2])).toBe(false);
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
const log = createLogger({ console: true, json: false, detail: false, file: ${JSON.stringify(file)}, underJournal: false });
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
    expect(loggerOptionsFromDaemon({ logConsole: true, logDetail: true, logJson: false, logFacility: 'local0', logFile: '/var/log/k.log' }, 'lvskeeper_vrrp')).toEqual({
      console: true,
      json: false,
      detail: true,
      facility: 'local0',
      file: '/var/log/k.log',
      processName: 'lvskeeper_vrrp',
    });
  });
});
