// Real-server side of bench/checks.mjs: accepts (and at once closes) TCP connections on
// `count` ports from `first` on `host`; prints "ready" once all listen, then "accepts N" (running total) every second.
// Usage: node bench/lib/checks-listener.mjs HOST FIRST_PORT COUNT
import { createServer } from 'node:net';

const [host, first, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let accepts = 0;
const onConn = (s) => {
  accepts++;
  s.on('error', () => {});
  s.destroy();
};
let listening = 0;
for (let i = 0; i < count; i++) {
  const srv = createServer(onConn);
  srv.on('error', (e) => {
    process.stderr.write(`listen ${first + i}: ${e.message}\n`);
    process.exit(1);
  });
  srv.listen({ host, port: first + i, backlog: 64 }, () => {
    if (++listening === count) process.stdout.write('ready\n');
  });
}
setInterval(() => process.stdout.write(`accepts ${accepts}\n`), 1000);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
