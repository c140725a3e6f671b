// The watched inbox: bundles dropped into `serve --inbox DIR` are
// imported while pushes continue, then moved to done/ (or failed/) with a report.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from './helpers/client.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { image } from './helpers/images.js';
import { cairn } from './helpers/mirror.js';

let src: TestDaemon;
let dst: TestDaemon;
let work: string;
let inbox: string;
const one = image({ layers: ['inbox one'] });
const two = image({ layers: ['inbox two', Buffer.alloc(64 * 1024, 7)] });

async function waitFor(file: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const names = await readdir(join(file, '..')).catch(() => [] as string[]);
    if (names.includes(file.split('/').pop()!)) return;
    if (Date.now() > until) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('inbox', () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'cairn-inbox-'));
    inbox = join(work, 'inbox');
    src = await startDaemon();
    dst = await startDaemon({ inbox });
    const c = new Client(src.url);
    await c.pushImage('team/one', one, '1');
    await c.pushImage('team/two', two, '2');
  });
  after(async () => {
    await src?.close();
    await dst?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('a bundle renamed into the inbox is imported while pushes continue', async () => {
    const bundle = join(work, 'one.tar');
    assert.equal((await cairn('export', '--root', src.root, '--out', bundle, 'team/one:1')).code, 0);
    const c = new Client(dst.url);
    let pushing = true;
    let pushed = 0;
    const pusher = (async () => {
      while (pushing) {
        const r = await c.pushImage('busy/app', image({ layers: [`push ${pushed}`] }), 'latest');
        assert.equal(r.status, 201);
        pushed++;
      }
    })();
    await rename(bundle, join(inbox, 'one.tar'));
    await waitFor(join(inbox, 'done', 'one.tar.report.txt'));
    pushing = false;
    await pusher;
    assert.ok(pushed > 0);
    const r = await c.req('GET', '/v2/team/one/manifests/1');
    assert.equal(r.headers.get('docker-content-digest'), one.digest);
    assert.match(await readFile(join(inbox, 'done', 'one.tar.report.txt'), 'utf8'), /imported .*team\/one:1/s);
    assert.deepEqual((await readdir(inbox)).sort(), ['done', 'failed']);
  });

  test('a bundle written slowly in place is taken only once its size holds still', async () => {
    const bundle = join(work, 'two.tar');
    assert.equal((await cairn('export', '--root', src.root, '--out', bundle, 'team/two:2')).code, 0);
    const bytes = await readFile(bundle);
    const dest = join(inbox, 'two.tar');
    await writeFile(dest, bytes.subarray(0, 20_000));
    await new Promise((r) => setTimeout(r, 400));
    await appendFile(dest, bytes.subarray(20_000));
    await waitFor(join(inbox, 'done', 'two.tar.report.txt'));
    const r = await new Client(dst.url).req('GET', '/v2/team/two/manifests/2');
    assert.equal(r.headers.get('docker-content-digest'), two.digest);
  });

  test('a corrupt bundle goes to failed/ with a report naming the blob, and nothing is imported', async () => {
    const dir = join(work, 'bad');
    assert.equal((await cairn('export', '--root', src.root, '--out', dir, 'team/two:2')).code, 0);
    const layer = two.blobs[2]!;
    const file = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const b = await readFile(file);
    b[10] ^= 0xff;
    await writeFile(file, b);
    await new Client(dst.url).req('DELETE', '/v2/team/two/manifests/2');
    await rename(dir, join(inbox, 'bad'));
    await waitFor(join(inbox, 'failed', 'bad.report.txt'));
    const report = await readFile(join(inbox, 'failed', 'bad.report.txt'), 'utf8');
    assert.ok(report.includes(layer.digest), report);
    assert.equal((await new Client(dst.url).req('GET', '/v2/team/two/manifests/2')).status, 404);
  });
});
