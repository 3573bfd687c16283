// Sends crafted IPv4 protocol-112 packets (our own IP header, so any TTL) from inside a namespace.
// Usage: node inject.mjs SRC DST TTL HEX [HEX...]   (each HEX is one VRRP payload)
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const raw = require('raw-socket');

const [src, dst, ttlText, ...hexes] = process.argv.slice(2);
const ttl = Number(ttlText);
const s = raw.createSocket({ protocol: 112 });
s.setOption(raw.SocketLevel.IPPROTO_IP, raw.SocketOption.IP_HDRINCL, 1);
s.setOption(raw.SocketLevel.SOL_SOCKET, raw.SocketOption.SO_BINDTODEVICE, Buffer.from('eth0\0'), 5);

function ipHeader(len) {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h[1] = 0xc0;
  h.writeUInt16BE(20 + len, 2);
  h[8] = ttl;
  h[9] = 112;
  src.split('.').forEach((o, i) => (h[12 + i] = Number(o)));
  dst.split('.').forEach((o, i) => (h[16 + i] = Number(o)));
  return h; // the kernel fills id and header checksum
}

let pending = hexes.length;
for (const hex of hexes) {
  const payload = Buffer.from(hex, 'hex');
  const pkt = Buffer.concat([ipHeader(payload.length), payload]);
  s.send(pkt, 0, pkt.length, dst, (err) => {
    if (err) {
      console.error(err.message);
      process.exitCode = 1;
    }
    if (--pending === 0) s.close();
  });
}
if (pending === 0) s.close();
