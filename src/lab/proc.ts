// Child processes of the lab (lvskeeper daemons, web servers), each started inside a namespace with
// `ip netns exec` (which execs, so the pid is the program's own) in a process group of its own: a
// terminal's Ctrl-C reaches only the lab, which then stops them in order.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export interface Line {
  at: number;
  text: string;
}

export class LabProcess {
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  exitCode: number | null | undefined;
  exitSignal: NodeJS.Signals | null = null;
  private readonly proc: ChildProcess;
  private buf = '';
  private waiters: { re: RegExp; since: number; resolve: (l: Line) => void }[] = [];

  constructor(
    readonly name: string,
    readonly ns: string,
    argv: string[],
    private readonly onLine: (proc: LabProcess, line: Line) => void,
  ) {
    this.proc = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const onData = (d: Buffer): void => {
      this.buf += d.toString('utf8');
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        this.push(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
      }
    };
    this.proc.stdout?.on('data', onData);
    this.proc.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      this.proc.once('error', (e) => {
        this.push(`(could not start: ${e.message})`);
        this.exitCode = null;
        resolve(null);
      });
      this.proc.once('close', (code, signal) => {
        if (this.buf.length > 0) this.push(this.buf);
        this.buf = '';
        this.exitCode = code;
        this.exitSignal = signal;
        resolve(code);
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  private push(text: string): void {
    const line = { at: performance.now(), text };
    this.lines.push(line);
    this.onLine(this, line);
    this.waiters = this.waiters.filter((w) => {
      if (line.at >= w.since && w.re.test(text)) {
        w.resolve(line);
        return false;
      }
      return true;
    });
  }

  /** The first line matching re at or after since (performance.now()); rejects after timeoutMs. */
  waitFor(re: RegExp, timeoutMs: number, since = 0): Promise<Line> {
    const found = this.lines.find((l) => l.at >= since && re.test(l.text));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        re,
        since,
        resolve: (l: Line): void => {
          clearTimeout(t);
          resolve(l);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`${this.name}: no log line /${re.source}/ within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** The last line matching re, if any. */
  last(re: RegExp): Line | undefined {
    for (let i = this.lines.length - 1; i >= 0; i--) if (re.test(this.lines[i]!.text)) return this.lines[i];
    return undefined;
  }

  signal(sig: NodeJS.Signals): boolean {
    if (!this.running || this.pid === undefined) return false;
    try {
      process.kill(this.pid, sig);
      return true;
    } catch {
      return false;
    }
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code. */
  async stop(graceMs = 6000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(t);
    return code;
  }
}
