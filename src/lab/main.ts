#!/usr/bin/env node
// `npm run lab` (dist/lab/main.js): the seed lab live on this machine. See src/lab/lab.ts.
//   node dist/lab/main.js [--scripted] [--prefix lab-] [--check-script auto|real|ok] [--no-color]
// Exit: 0 ok, 1 a scripted step failed or the lab could not start, 2 usage, 4 not root / no build,
// 128+n after signal n (everything is cleaned up first).
import { performance } from 'node:perf_hooks';
import { realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Lab, LabError, sleep, type Lb, type Takeover } from './lab.js';
import { VIP } from './topology.js';

interface Args {
  scripted: boolean;
  prefix: string;
  checkScript: 'auto' | 'real' | 'ok';
  color: boolean;
  slow: number;
  programOnAllNodes: boolean;
}

const USAGE = `Usage: npm run lab [-- OPTIONS]   (or: lvskeeper lab OPTIONS, as root)

The seed lab in network namespaces: lb1/lb2 running lvskeeper with config/lb01.conf and lb02.conf
(ens33 -> eth0), rs1/rs2 serving "This is web1"/"web2" on 8080 (LVS-DR), a client; fail lb1 and
watch lb2 take over.

  --scripted           run the fixed failover script (link down, link up, SIGTERM) and exit 0/1
  --prefix P           namespace name prefix (default lab-)
  --check-script MODE  auto (default): config/lvs_check.sh if the kernel has ip_vs, else a script
                       that succeeds; real: always config/lvs_check.sh; ok: always the succeeding one
  --no-program-on-all-nodes
                       with config/lvs_check.sh, do not add lvs_program_on_all_nodes to global_defs
                       (lvskeeper then installs virtual servers only on the MASTER, and the check
                       keeps both nodes in FAULT)
  --slow N             multiply every timeout by N (default 8 inside ../shared/kernel-vm/run, else 1)
  --no-color           no ANSI colours
  -h, --help           this text
`;

export function parseArgs(argv: string[]): Args | string {
  const a: Args = { scripted: false, prefix: 'lab-', checkScript: 'auto', color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR, slow: process.env.KERNEL_VM === '1' ? 8 : 1, programOnAllNodes: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    const val = (): string | undefined => (x.includes('=') ? x.slice(x.indexOf('=') + 1) : argv[++i]);
    const name = x.includes('=') ? x.slice(0, x.indexOf('=')) : x;
    if (name === '--scripted') a.scripted = true;
    else if (name === '--no-color') a.color = false;
    else if (name === '--no-program-on-all-nodes') a.programOnAllNodes = false;
    else if (name === '--slow') {
      const v = Number(val());
      if (!Number.isFinite(v) || v < 1 || v > 100) return '--slow wants a factor from 1 to 100';
      a.slow = v;
    }
    else if (name === '--prefix') {
      const v = val();
      if (!v || !/^[a-z][a-z0-9-]{0,9}$/.test(v)) return `--prefix wants a-z, 0-9, - (at most 10 characters), got '${v ?? ''}'`;
      a.prefix = v;
    } else if (name === '--check-script') {
      const v = val();
      if (v !== 'auto' && v !== 'real' && v !== 'ok') return `--check-script wants auto, real or ok, got '${v ?? ''}'`;
      a.checkScript = v;
    } else if (name === '-h' || name === '--help') return 'help';
    else return `unknown option '${x}'`;
  }
  return a;
}

const fmt = (ms: number | undefined): string => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(3)} s`);

function describeTakeover(lab: Lab, what: string, to: Lb, from: Lb, t: Takeover): string {
  return `${what}: VIP on ${to} after ${fmt(t.vipPresentMs)} (${to} logged MASTER after ${fmt(t.masterLogMs)}; VIP gone from ${from} after ${fmt(t.vipGoneMs)})`;
}

async function showTraffic(lab: Lab): Promise<void> {
  if (lab.ipvs) {
    const master = (await lab.vipHolders())[0];
    if (master) lab.info(`ipvsadm -Ln on ${master} (the master):\n${indent(lab.ipvsTable(master))}`);
  }
  const bodies = await lab.curlVip(4);
  lab.info(`client: curl http://${VIP}:8080/ x4 -> ${summarize(bodies)}`);
  if (!lab.ipvs) {
    lab.info('  (no ip_vs in this kernel: the master holds the VIP but nothing forwards 8080 to the real servers, so these fail)');
    lab.info(`  direct: rs1 -> ${JSON.stringify(await lab.curlDirect('rs1'))}, rs2 -> ${JSON.stringify(await lab.curlDirect('rs2'))}`);
  }
}

/** "a", "b", "a", "b" as is; runs of one answer as `4 x "..."`. */
function summarize(bodies: string[]): string {
  const runs: [string, number][] = [];
  for (const b of bodies) {
    const last = runs[runs.length - 1];
    if (last && last[0] === b) last[1]++;
    else runs.push([b, 1]);
  }
  return runs.map(([b, n]) => (n > 1 ? `${n} x ${JSON.stringify(b)}` : JSON.stringify(b))).join(', ');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `            ${l}`)
    .join('\n');
}

class StepError extends Error {}

async function expect(cond: boolean | Promise<boolean>, what: string): Promise<void> {
  if (!(await cond)) throw new StepError(what);
}

/** The fixed failover script (--scripted). Throws StepError on the first failed expectation. */
async function scripted(lab: Lab): Promise<void> {
  const timings: [string, string, string][] = [];
  const t0 = performance.now();
  await lab.up();
  const lb1 = lab.daemons.lb1!;
  // Step 1: the seed's roles, held for a second: lb1 MASTER with the VIP, lb2 BACKUP without it.
  const settled = await lab.waitUntil(
    async () => lab.state('lb1') === 'MASTER' && lab.state('lb2') === 'BACKUP' && (await lab.vipHolders()).join() === 'lb1',
    lab.ms(20_000),
    1000,
  );
  if (!settled) {
    const why = lab.state('lb1') === 'FAULT' && lab.state('lb2') !== 'MASTER' ? ' (FAULT: the lvs_check track script fails - see the log lines above)' : '';
    throw new StepError(`lb1 did not become MASTER with lb2 BACKUP: ${await lab.status()}${why}`);
  }
  const master = lb1.last(/\(VI_1\) Entering MASTER STATE/)!;
  lab.info(`step 1 ok: ${await lab.status()}`);
  timings.push(['start: lb1 MASTER (from lab start)', fmt(master.at - t0), '']);

  if (lab.ipvs) {
    await showTraffic(lab);
    const bodies = await lab.curlVip(4);
    await expect(bodies.some((b) => b === 'This is web1') && bodies.some((b) => b === 'This is web2'), `curl via the VIP should reach web1 and web2: ${bodies.join(' / ')}`);
  } else {
    const [r1, r2] = [await lab.curlDirect('rs1'), await lab.curlDirect('rs2')];
    lab.info(`client -> rs1: ${JSON.stringify(r1)}, rs2: ${JSON.stringify(r2)}; curl via the VIP skipped: no ip_vs in this kernel, IPVS programming is skipped`);
    await expect(r1 === 'This is web1' && r2 === 'This is web2', 'real servers should answer directly');
  }

  lab.info("step 2: link down lb1 (ip link set eth0 down in lb1) - lb2 must take over 3.648 s (Master_Down_Interval) after lb1's last advert");
  let t = performance.now();
  lab.setLink('lb1', false);
  const down = await lab.measureTakeover('lb2', 'lb1', t, 10_000).catch((e: Error) => {
    throw new StepError(e.message);
  });
  lab.info(describeTakeover(lab, 'link down lb1', 'lb2', 'lb1', down));
  await lab.daemons.lb2!.waitFor(/\(VI_1\) Entering MASTER STATE/, lab.ms(3000), t).catch(() => {
    throw new StepError('lb2 holds the VIP but did not log Entering MASTER STATE');
  });
  await expect(lab.vipHolders().then((h) => h.length === 1 && h[0] === 'lb2'), `VIP should be on lb2 only: ${await lab.status()}`);
  lab.info(`step 2 ok: ${await lab.status()}`);
  timings.push(['link down lb1 -> VIP on lb2', fmt(down.vipPresentMs), '2.65-3.65 s (3.648 s after lb1\'s last advert)']);
  if (lab.ipvs) await showTraffic(lab);

  lab.info('step 3: link up lb1 - lb1 (priority 100) must preempt lb2 (priority 90)');
  t = performance.now();
  lab.setLink('lb1', true);
  const up = await lab.measureTakeover('lb1', 'lb2', t, 15_000).catch((e: Error) => {
    throw new StepError(e.message);
  });
  lab.info(describeTakeover(lab, 'link up lb1', 'lb1', 'lb2', up));
  await lab.daemons.lb2!.waitFor(/\(VI_1\) Entering BACKUP STATE/, lab.ms(5000), t).catch(() => {
    throw new StepError('lb2 did not go back to BACKUP');
  });
  await expect(up.vipGoneMs !== undefined, 'VIP should be gone from lb2');
  await expect(lab.vipHolders().then((h) => h.length === 1 && h[0] === 'lb1'), `VIP should be on lb1 only: ${await lab.status()}`);
  lab.info(`step 3 ok: ${await lab.status()}`);
  timings.push(['link up lb1 -> lb1 preempts (VIP on lb1)', fmt(up.vipPresentMs), '~3.65 s (lb1 waits out its down timer)']);

  lab.info('step 4: SIGTERM lb1 - it sends priority-0 adverts; lb2 must take over after Skew_Time (0.648 s)');
  t = performance.now();
  const exit = lab.stopDaemon('lb1');
  const term = await lab.measureTakeover('lb2', 'lb1', t, 6000).catch((e: Error) => {
    throw new StepError(e.message);
  });
  lab.info(describeTakeover(lab, 'SIGTERM lb1', 'lb2', 'lb1', term));
  const code = await exit;
  await expect(code === 0, `lb1 should exit 0 on SIGTERM, exited ${code}`);
  await expect(lab.vipHolders().then((h) => h.length === 1 && h[0] === 'lb2'), `VIP should be on lb2 only: ${await lab.status()}`);
  lab.info(`step 4 ok: ${await lab.status()}`);
  timings.push(['SIGTERM lb1 -> VIP on lb2', fmt(term.vipPresentMs), '~0.65 s (Skew_Time)']);

  lab.info('timings (action -> VIP present on the new master, polled every ~10 ms):');
  for (const [what, ms, ideal] of timings) lab.info(`  ${what.padEnd(48)} ${ms.padStart(9)}  ${ideal}`);
  lab.info('SCRIPTED LAB PASSED');
}

const MENU = `
  [1] link down lb1   [2] link up lb1   [3] stop lb1 daemon (SIGTERM)   [4] start lb1 daemon
  [5] curl the VIP from the client      [6] status                      [7] ipvsadm -Ln on the master
  [q] quit (cleans everything up)`;

async function interactive(lab: Lab): Promise<void> {
  await lab.up();
  await lab.daemons.lb1!.waitFor(/\(VI_1\) Entering MASTER STATE/, lab.ms(15_000)).catch(() => undefined);
  await sleep(300);
  lab.info(`status: ${await lab.status()}`);
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: Boolean(process.stdin.isTTY) });
  // On a terminal readline reads Ctrl-C as a key; make it the signal the lab cleans up on.
  rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
  const prompt = (full: boolean): void => {
    process.stdout.write(full ? `${MENU}\nchoice> ` : 'choice [1-7, q, ? menu]> ');
  };
  /** After an action at `since`: time the VIP's move from `from` to `to`, if `from` held it. */
  const watch = async (what: string, to: Lb, from: Lb, since: number, heldBefore: Lb[], timeoutMs: number): Promise<void> => {
    if (!heldBefore.includes(from)) {
      lab.info(`${what}: ${from} did not hold the VIP, nothing to take over`);
    } else {
      try {
        const t = await lab.measureTakeover(to, from, since, timeoutMs);
        lab.info(describeTakeover(lab, what, to, from, t));
      } catch (e) {
        lab.info(`${what}: ${(e as Error).message}`);
      }
    }
    lab.info(`status: ${await lab.status()}`);
  };
  const handle = async (choice: string): Promise<'more' | 'quiet' | 'quit'> => {
    const held = await lab.vipHolders();
    const now = performance.now();
    switch (choice) {
      case '1':
        lab.info('link down lb1 (ip link set eth0 down in lb1); lb2 takes over 3.648 s after the last advert it heard');
        lab.setLink('lb1', false);
        await watch('link down lb1', 'lb2', 'lb1', now, held, 10_000);
        return 'more';
      case '2':
        lab.info('link up lb1; lb1 (priority 100) preempts lb2 (priority 90)');
        lab.setLink('lb1', true);
        if (lab.daemons.lb1?.running) await watch('link up lb1', 'lb1', 'lb2', now, held, 15_000);
        else lab.info('lb1 daemon is not running: [4] starts it');
        return 'more';
      case '3': {
        lab.info('SIGTERM lb1; it sends priority 0 and lb2 takes over after Skew_Time (~0.65 s)');
        const exit = lab.stopDaemon('lb1');
        await watch('SIGTERM lb1', 'lb2', 'lb1', now, held, 6000);
        await exit;
        return 'more';
      }
      case '4':
        if (lab.daemons.lb1?.running) {
          lab.info('lb1 daemon is already running');
          return 'more';
        }
        lab.startDaemon('lb1');
        await watch('start lb1', 'lb1', 'lb2', now, held, 15_000);
        return 'more';
      case '5':
        await showTraffic(lab);
        return 'more';
      case '6':
        lab.info(`status: ${await lab.status()}`);
        return 'more';
      case '7': {
        const m = held[0];
        if (!lab.ipvs) lab.info('no ip_vs in this kernel: IPVS programming is skipped, there is no table to show');
        else if (!m) lab.info('nobody holds the VIP');
        else lab.info(`ipvsadm -Ln on ${m} (the master):\n${indent(lab.ipvsTable(m))}`);
        return 'more';
      }
      case 'q':
      case 'quit':
      case 'exit':
        return 'quit';
      case '?':
      case 'h':
      case 'help':
        prompt(true);
        return 'quiet';
      case '':
        return 'more';
      default:
        lab.info(`unknown choice '${choice}'`);
        return 'more';
    }
  };
  // Lines typed while an action runs wait their turn.
  await new Promise<void>((resolve) => {
    let chain = Promise.resolve(true);
    let quitting = false;
    rl.on('line', (line) => {
      chain = chain.then(async (more) => {
        if (!more || quitting) return false;
        let next: 'more' | 'quiet' | 'quit';
        try {
          next = await handle(line.trim().toLowerCase());
        } catch (e) {
          lab.info(`error: ${(e as Error).message}`);
          next = 'more';
        }
        if (next === 'more') prompt(false);
        if (next !== 'quit') return true;
        quitting = true;
        rl.close();
        return false;
      });
    });
    // End of input (Ctrl-D, or the end of a piped script): finish what was typed, then quit.
    rl.on('close', () => {
      void chain.then(() => resolve());
    });
    prompt(true);
  });
}

/** The lab's command line (argv without node and script); resolves with the exit code. */
export async function runLab(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (typeof args === 'string') {
    process.stderr.write(`lab: ${args}\n${USAGE}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('lab: needs root (network namespaces, raw sockets); try: sudo npm run lab\n');
    return 4;
  }
  const lab = new Lab({
    prefix: args.prefix,
    checkScript: args.checkScript,
    out: (s) => process.stdout.write(s),
    color: args.color,
    slow: args.slow,
    programOnAllNodes: args.programOnAllNodes,
  });
  let signalled = false;
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(sig, () => {
      if (signalled) {
        lab.info(`${sig}: still cleaning up`);
        return;
      }
      signalled = true;
      lab.info(`${sig}: stopping the daemons and removing the namespaces`);
      void lab.cleanup().finally(() => process.exit(128 + n));
    });
  }
  let code = 0;
  try {
    if (args.scripted) await scripted(lab);
    else await interactive(lab);
  } catch (e) {
    code = 1;
    if (e instanceof LabError) lab.info(`error: ${e.message}`);
    else {
      lab.info(e instanceof StepError ? `SCRIPTED LAB FAILED: ${e.message}` : `error: ${(e as Error).stack ?? String(e)}`);
      if (!signalled) lab.info(`status at failure: ${await lab.status().catch(() => 'unknown')}`);
    }
  }
  if (signalled) return new Promise(() => undefined); // the signal handler exits
  await lab.cleanup();
  return code;
}

// Run when executed directly (node dist/lab/main.js); `lvskeeper lab` imports runLab instead.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  process.exitCode = await runLab(process.argv.slice(2));
}
