// The minimal Node pass-through proxy: node:http in, node:http out over keep-alive sockets,
// request and response bodies piped, backends taken in turn. No parsing, no routing, no
// metrics: the floor any Node proxy (the router included) pays for relaying a call.
//
//   node bench/procs/proxy-child.ts --backends http://127.0.0.1:9001,http://127.0.0.1:9002 [--port 0]

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { backends: { type: 'string' }, port: { type: 'string', default: '0' } },
});
const backends = (values.backends ?? '')
  .split(',')
  .filter((s) => s !== '')
  .map((s) => new URL(s));
if (backends.length === 0) {
  process.stderr.write('proxy-child: --backends is required\n');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
let turn = 0;

const server = http.createServer({ keepAliveTimeout: 65_000, noDelay: true }, (req, res) => {
  const target = backends[turn++ % backends.length] as URL;
  const upstream = http.request(
    {
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: req.headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end();
    else res.destroy();
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
});
server.listen(Number(values.port), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`proxy-child: listening on http://127.0.0.1:${port}\n`);
});
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
