// A bare node:http server for the loopback ceilings, run in its own process like
// the registries: PUT/POST reads the body and drops it; GET /file serves the file
// named on the command line; GET /walk?pages=P&last=K answers page K of P, a
// tags/list page of 100 names with a Link to the next, as a registry would. It
// prints its port on stdout, then serves until killed.
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream';

const file = process.argv[2];
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/walk')) {
    const q = new URL(req.url, 'http://bare').searchParams;
    const pages = Number(q.get('pages'));
    const at = Number(q.get('last') ?? 0);
    const tags = Array.from({ length: 100 }, (_, i) => `t-${(at * 100 + i).toString(16).padStart(12, '0')}`);
    if (at + 1 < pages) res.setHeader('Link', `</walk?pages=${pages}&last=${at + 1}>; rel="next"`);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ name: 'bare', tags }));
    return;
  }
  if (req.method === 'GET' && file) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), res, () => undefined);
    return;
  }
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  });
});
server.requestTimeout = 0;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as { port: number }).port}\n`);
});
