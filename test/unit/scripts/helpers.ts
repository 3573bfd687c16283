// Test doubles for the script modules: a manual clock and a spawner whose processes the test ends.
import type { TimerClock } from '../../../src/scripts/track-script.js';
import type { RunningScript, ScriptExit, ScriptSpawner } from '../../../src/scripts/spawn.js';
import type { PreparedScript } from '../../../src/scripts/script-security.js';
import { readFileSync } from 'node:fs';

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements TimerClock {
  now = 0;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { id: this.nextId++, at: this.now + ms, fn };
    this.timers.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  pending(): number {
    return this.timers.length;
  }

  /** Run due timers in time order (ties in creation order), letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await settle();
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.now = due.at;
      due.fn();
    }
    this.now = target;
    await settle();
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

export interface FakeRun {
  script: PreparedScript;
  extraArgs: readonly string[];
  kills: NodeJS.Signals[];
  finish(exit: Partial<ScriptExit>): void;
  done: boolean;
}

export class FakeSpawner {
  readonly runs: FakeRun[] = [];
  /** When set, a SIGTERM/SIGKILL ends the fake process with that signal. */
  dieOnSignal = true;

  readonly spawn: ScriptSpawner = (script, extraArgs = []) => {
    let resolveExit!: (e: ScriptExit) => void;
    const exited = new Promise<ScriptExit>((r) => {
      resolveExit = r;
    });
    const run: FakeRun = {
      script,
      extraArgs,
      kills: [],
      done: false,
      finish: (exit) => {
        if (run.done) return;
        run.done = true;
        resolveExit({ code: null, signal: null, stderrTail: '', ...exit });
      },
    };
    this.runs.push(run);
    const running: RunningScript = {
      pid: 1000 + this.runs.length,
      kill: (signal) => {
        run.kills.push(signal);
        if (this.dieOnSignal) run.finish({ signal });
      },
      exited,
    };
    return running;
  };

  last(): FakeRun {
    const run = this.runs[this.runs.length - 1];
    if (!run) throw new Error('no run yet');
    return run;
  }
}

/** A preparer that accepts every line as an exec of its first word. */
export const acceptAllPreparer = {
  prepare(line: string) {
    const [file = '', ...args] = line.split(' ');
    return { ok: true as const, insecure: false, script: { command: { kind: 'exec' as const, file, args }, runAs: { user: 'root', uid: 0, gid: 0 }, configured: line } };
  },
};

/** Polls `cond` every 10 ms until it holds; throws after `ms`. */
export async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Running, not a zombie waiting for a reaper (PID 1 in a container may be slow to reap). */
export function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
