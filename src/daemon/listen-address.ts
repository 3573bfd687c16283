// `--metrics-listen ADDR:PORT`, parsed where the command line is read (without loading the metrics
// module and its library) and again where the server starts.
import { isIPv4, isIPv6 } from 'node:net';

export interface ListenAddress {
  /** An IP literal; "" for every address. */
  host: string;
  port: number;
}

/** "127.0.0.1:9650", "[::1]:9650" or ":9650" (every address). Throws with the reason otherwise. */
export function parseListen(text: string): ListenAddress {
  const fail = (why: string): never => {
    throw new Error(`invalid listen address "${text}": ${why} (expected ADDR:PORT, [IPv6]:PORT or :PORT)`);
  };
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) fail('no "]" after the IPv6 address');
    host = text.slice(1, close);
    if (text[close + 1] !== ':') fail('no ":PORT" after "]"');
    portText = text.slice(close + 2);
    if (!isIPv6(host)) fail(`"${host}" is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) fail('no ":PORT"');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) fail(`an IPv6 address needs brackets: [${host}]:${portText}`);
    if (host !== '' && !isIPv4(host)) fail(`"${host}" is not an IPv4 address`);
  }
  if (!/^\d{1,5}$/.test(portText)) fail(`"${portText}" is not a port number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) fail(`port ${port} is out of range 1-65535`);
  return { host, port };
}
