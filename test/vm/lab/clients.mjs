// Test clients and a server for the takeover tests (run inside the lab's namespaces):
//   node clients.mjs echo-server PORT
//       echoes every connection back (the real servers' service)
//   node clients.mjs stream HOST PORT
//       one connection, a numbered line every 200 ms; prints "connected from port P", then "echoed N" as
//       lines come back.
//       SIGUSR1 ends it: waits for the last echoes, prints "OK sent=N echoed=N maxgap=MS" and exits 0;
//       an error or close before that prints "BROKEN <code>" and exits 1.
//   node clients.mjs burst HOST PORT EVERY_MS DURATION_MS
//       a new connection every EVERY_MS for DURATION_MS, each sending a line and waiting for its echo;
//       a connection that gets no answer within 5 s is abandoned and tried again (as a client that
//       times out would retry), one that is reset or refused is counted as such. Prints one JSON
//       line: {"ok","reset","refused","retried","failed","errors"} and exits 0.
import { createConnection, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'echo-server') {
  createServer((s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  }).listen(Number(args[0]));
} else if (mode === 'stream') {
  const [host, port] = args;
  let sent = 0;
  let echoed = 0;
  let last = Date.now();
  let maxGap = 0;
  let ending = false;
  let buffered = '';
  const sock = createConnection({ host, port: Number(port) });
  sock.setNoDelay(true);
  const fail = (why) => {
    if (ending && echoed === sent) return;
    process.stdout.write(`BROKEN ${why}\n`);
    process.exit(1);
  };
  sock.on('error', (e) => fail(e.code ?? e.message));
  sock.on('close', () => fail('closed'));
  sock.on('connect', () => {
    process.stdout.write(`connected from port ${sock.localPort}\n`);
    setInterval(() => {
      if (!ending) sock.write(`${++sent}\n`);
    }, 200);
  });
  sock.on('data', (d) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (Number(line) !== echoed + 1) fail(`out of order: ${line} after ${echoed}`);
      echoed++;
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      process.stdout.write(`echoed ${echoed}\n`);
    }
    if (ending && echoed === sent) finish();
  });
  const finish = () => {
    process.stdout.write(`OK sent=${sent} echoed=${echoed} maxgap=${maxGap}\n`);
    process.exit(0);
  };
  process.on('SIGUSR1', () => {
    ending = true;
    if (echoed === sent) finish();
    setTimeout(() => fail(`ended with ${sent - echoed} lines unanswered`), 10_000).unref();
  });
} else if (mode === 'burst') {
  const [host, port, every, duration] = args.map((a, i) => (i === 0 ? a : Number(a)));
  const result = { ok: 0, reset: 0, refused: 0, retried: 0, failed: 0, errors: {} };
  let pending = 0;
  let starting = true;
  const attempt = (tries) => {
    pending++;
    let done = false;
    const sock = createConnection({ host, port });
    const end = (outcome, code) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      pending--;
      if (outcome === 'ok') result.ok++;
      else if (outcome === 'timeout' && tries < 3) {
        result.retried++;
        attempt(tries + 1);
      } else if (code === 'ECONNRESET') result.reset++;
      else if (code === 'ECONNREFUSED') result.refused++;
      else result.failed++;
      if (code) result.errors[code] = (result.errors[code] ?? 0) + 1;
      if (!starting && pending === 0) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        process.exit(0);
      }
    };
    const timer = setTimeout(() => end('timeout', 'timeout'), 5000);
    sock.on('error', (e) => end('error', e.code ?? e.message));
    sock.on('close', () => end('error', 'closed before the echo'));
    sock.on('connect', () => sock.write('x\n'));
    sock.on('data', (d) => {
      if (d.toString().includes('x')) end('ok');
    });
  };
  const started = Date.now();
  const tick = setInterval(() => {
    if (Date.now() - started >= duration) {
      clearInterval(tick);
      starting = false;
      if (pending === 0) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
        process.exit(0);
      }
      return;
    }
    attempt(1);
  }, every);
} else {
  process.stderr.write(`usage: clients.mjs echo-server PORT | stream HOST PORT | burst HOST PORT EVERY_MS DURATION_MS\n`);
  process.exit(2);
}
