// daemon/sendfile.ts reading around the page cache: every byte range of a file whose
// size is no multiple of a block comes out exact, read O_DIRECT from the first byte,
// and the stage it read into is given back, also when the client goes away.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type Server, createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sendFile } from '../../../daemon/sendfile.js';
import { stagesInUse } from '../../../store/stages.js';

const data = randomBytes(5 * (1 << 20) + 4097 + 123);
let dir: string;
let server: Server;
let base: string;
let served: Promise<{ directBytes: number }>[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-sendfile-'));
  writeFileSync(join(dir, 'blob'), data);
  // GET /?start=S&length=L&around=1
  server = createServer((req, res) => {
    const q = new URL(req.url!, 'http://x').searchParams;
    const start = Number(q.get('start'));
    const length = Number(q.get('length'));
    res.writeHead(200, { 'Content-Length': length });
    served.push(sendFile(res, openSync(join(dir, 'blob'), 'r'), start, length, { around: q.get('around') === '1' }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

async function fetchRange(start: number, length: number, around: boolean): Promise<Buffer> {
  const r = await fetch(`${base}/?start=${start}&length=${length}&around=${around ? 1 : 0}`);
  return Buffer.from(await r.arrayBuffer());
}

test('every range read O_DIRECT equals the file’s bytes, and the stage comes back', async () => {
  const ranges: [number, number][] = [
    [0, data.length],
    [1, data.length - 1],
    [4095, 4098],
    [4097, 3 * (1 << 20) + 5],
    [(1 << 20) - 1, (1 << 20) + 2],
    [data.length - 10, 10],
    [data.length - 1, 1],
  ];
  for (const [start, length] of ranges) {
    for (const around of [true, false]) {
      served = [];
      const got = await fetchRange(start, length, around);
      assert.ok(got.equals(data.subarray(start, start + length)), `${start}+${length} around=${around}`);
      const [{ directBytes }] = (await Promise.all(served)) as [{ directBytes: number }];
      assert.equal(directBytes, around ? length : 0, `${start}+${length} around=${around}: bytes read O_DIRECT`);
    }
  }
  assert.equal(stagesInUse(), 0);
});

test('a client that goes away mid-body leaves no stage taken', async () => {
  served = [];
  await new Promise<void>((ok, fail) => {
    const req = get(`${base}/?start=0&length=${data.length}&around=1`, (res) => {
      res.once('data', () => {
        req.destroy();
        ok();
      });
    });
    req.on('error', (err) => (req.destroyed ? undefined : fail(err)));
  });
  await Promise.all(served);
  assert.equal(stagesInUse(), 0);
});
