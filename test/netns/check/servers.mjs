// Runs inside the server namespace: one real server per checker type; TCP dual-stack on every address, UDP
// on each of the given addresses (a reply must come from the address the client's connected socket
// targets, and a wildcard-bound UDP socket would pick the source by route instead). Prints {"event":"ready"} once all listen, then one {"event":"tcp"|"udp",address,port} line per client seen.
import dgram from 'node:dgram';
import net from 'node:net';

const [tcpPort, httpPort, udpPort, dnsPort] = process.argv.slice(2, 6).map(Number);
const udpAddresses = process.argv.slice(6);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const seen = (kind, address, port) => out({ event: kind, address: address.replace(/^::ffff:/, ''), port });
const listening = [];

const tcp = net.createServer((s) => {
  seen('tcp', s.remoteAddress, s.remotePort);
  s.destroy();
});
const http = net.createServer((s) => {
  seen('tcp', s.remoteAddress, s.remotePort);
  s.on('error', () => {});
  s.once('data', () => s.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n'));
});
for (const [server, port] of [[tcp, tcpPort], [http, httpPort]]) {
  listening.push(new Promise((r) => server.listen({ port, host: '::' }, r)));
}

/** `answer` builds the reply datagram (UDP echo, or a NOERROR DNS answer). */
function udp(port, answer) {
  for (const address of udpAddresses) {
    const socket = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
    socket.on('message', (msg, from) => {
      seen('udp', from.address, from.port);
      socket.send(answer(msg), from.port, from.address);
    });
    listening.push(new Promise((r) => socket.bind(port, address, r)));
  }
}
udp(udpPort, (msg) => msg);
udp(dnsPort, (msg) => {
  const reply = Buffer.from(msg.subarray(0, 12));
  reply.writeUInt16BE(0x8180, 2); // QR RD RA, RCODE 0
  return reply;
});

await Promise.all(listening);
out({ event: 'ready' });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
