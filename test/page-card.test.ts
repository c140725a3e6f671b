// The page shows an image the way people look at one, in headless chromium: an
// index's platforms with their sizes, a revision's size, created time, labels,
// layers, annotations and pull commands, what is attached to it (a referrer and a
// cosign tag) with a "signed" badge, how much each revision grew in the timeline
// and the other tags at the same revision, a repository of 10,000 tags sorted by
// last move and filtered (its load time reported, not asserted), keyboard use,
// and phone and 400% zoom widths with nothing wider than the screen.
// CAIRN_SCREENSHOTS=DIR saves a screenshot of each view there.
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { MediaTypes } from '../shared/manifest.js';
import { launchChromium, noBrowser } from './helpers/browser.js';
import { Client } from './helpers/client.js';
import { daemonForFile } from './helpers/daemon.js';
import { artifact, type Built, image, index } from './helpers/images.js';

const skip = noBrowser;
const d = daemonForFile();
const c = new Client(d);
let browser: Browser;

async function page(width = 1280, height = 900): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  const p = await context.newPage();
  const errors: string[] = [];
  p.on('pageerror', (e) => errors.push(e.message));
  (p as unknown as { errors: string[] }).errors = errors;
  return p;
}
async function open(p: Page, hash: string): Promise<void> {
  await p.goto(`${d.url}/#${hash}`);
  await p.waitForFunction((h) => document.body.dataset.ready === (h ? `#${h}` : ''), hash);
}
async function shot(p: Page, name: string): Promise<void> {
  const dir = process.env.CAIRN_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await p.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
const platformImage = (architecture: string, layerBytes: number): Built =>
  image({
    layers: [Buffer.alloc(layerBytes, architecture)],
    config: { architecture, os: 'linux', created: '2026-11-30T10:00:00Z', config: { Labels: { 'org.opencontainers.image.source': 'https://example.invalid/app', arch: architecture } }, rootfs: { type: 'layers', diff_ids: [] } },
  });

describe('the page: an image as people look at one', { skip }, () => {
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  test('an index with two platforms: one row each, with its own size; the card sums them', { timeout: 60_000 }, async () => {
    const amd = platformImage('amd64', 3000);
    const arm = platformImage('arm64', 5000);
    await c.pushImage('card/multi', amd);
    await c.pushImage('card/multi', arm);
    const idx = index([amd, arm]);
    assert.equal((await c.putManifest('card/multi', 'v1', idx)).status, 201);
    const p = await page();
    await open(p, `repo=card/multi&tag=v1&rev=${encodeURIComponent(idx.digest)}`);
    const rows = await p.$$eval('table.platforms tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const size = (m: Built) => m.blobs.reduce((n, b) => n + b.size, 0);
    const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;
    assert.deepEqual(rows.map((r) => [r[0], r[1]]), [['linux/amd64', kB(size(amd))], ['linux/arm64', kB(size(arm))]]);
    assert.equal(await p.textContent('.image-size'), kB(size(amd) + size(arm)));
    assert.match((await p.textContent('.facts'))!, /2 platforms/);
    await shot(p, 'index');
    // A platform row leads to that child's own card: created time and labels from its config.
    await p.click(`table.platforms a`);
    await p.waitForFunction(() => /created/.test(document.querySelector('.facts')?.textContent ?? ''));
    assert.match((await p.textContent('#view'))!, /org\.opencontainers\.image\.source/);
    assert.deepEqual((p as unknown as { errors: string[] }).errors, []);
  });

  test('a signed image: a referrer signature and a cosign attestation tag, grouped, with a badge; pull commands to copy', { timeout: 60_000 }, async () => {
    const img = image({ layers: ['signed layer'], annotations: { 'org.opencontainers.image.description': 'a signed image' } });
    await c.pushImage('card/signed', img, 'v1');
    const sig = artifact('application/vnd.dev.cosign.artifact.sig.v1+json', img);
    await c.pushImage('card/signed', sig);
    const att = artifact('application/vnd.dsse.envelope.v1+json');
    await c.pushImage('card/signed', att, `sha256-${img.digest.slice(7)}.att`);
    const p = await page();
    await open(p, `repo=card/signed&tag=v1&rev=${encodeURIComponent(img.digest)}`);
    assert.equal(await p.textContent('.badge.signed'), 'signed');
    const kinds = await p.$$eval('ul.attached li', (lis) => lis.map((li) => [(li as HTMLElement).dataset.kind, li.querySelector('.chip')?.textContent]));
    assert.deepEqual(kinds, [
      ['signature', `${sig.digest.slice(7, 19)} · referrer`],
      ['attestation', `${att.digest.slice(7, 19)} · tag`],
    ]);
    assert.match((await p.textContent('#view'))!, /a signed image/, 'annotations shown');
    const pulls = await p.$$eval('ul.pulls code', (cs) => cs.map((x) => x.textContent));
    assert.deepEqual(pulls, [`podman pull ${d.host}/card/signed@${img.digest}`, `podman pull ${d.host}/card/signed:v1@${img.digest}`]);
    await p.click('ul.pulls li:nth-child(2) button');
    assert.equal(await p.evaluate(() => (window as unknown as { __cairnCopied: string }).__cairnCopied), pulls[1]);
    await shot(p, 'signed');
  });

  test('the timeline: what each revision grew by, and other tags at the same revision', { timeout: 60_000 }, async () => {
    for (const n of [1000, 4000, 2000]) {
      await c.pushImage('card/grow', image({ layers: [Buffer.alloc(n, n % 251)] }), 'v1');
      await new Promise((ok) => setTimeout(ok, 15));
    }
    const head = (await c.req('HEAD', '/v2/card/grow/manifests/v1')).headers.get('docker-content-digest')!;
    const current = await c.req('GET', `/v2/card/grow/manifests/${head}`, { headers: { Accept: MediaTypes.ociManifest } });
    assert.equal((await c.req('PUT', '/v2/card/grow/manifests/stable', { body: current.body, headers: { 'Content-Type': MediaTypes.ociManifest } })).status, 201);
    const p = await page();
    await open(p, 'repo=card/grow&tag=v1');
    await p.waitForFunction(() => document.querySelectorAll('ol.timeline li.entry').length === 3);
    const deltas = await p.$$eval('ol.timeline li.entry', (lis) => lis.map((li) => [li.querySelector('.delta')?.textContent, li.querySelector('.chip')?.textContent ?? null]));
    assert.deepEqual(deltas, [['−2.0 kB', 'stable'], ['+3.0 kB', null], ['', null]]);
    await shot(p, 'timeline');
  });

  test('10,000 tags: the repository opens (time reported), sorts by last move, filters', { timeout: 120_000 }, async (t) => {
    // The tree written as the store writes it, directly, to keep the test short.
    const m = image({ layers: ['many'] });
    await c.pushImage('card/many', m, 't00000');
    const hex = m.digest.slice(7);
    const tags = join(d.root, 'repositories/card/many/_tags');
    const base = Date.now() - 86_400_000;
    utimesSync(join(tags, 't00000/current'), new Date(base), new Date(base));
    for (let i = 1; i < 10_000; i++) {
      const dir = join(tags, `t${String(i).padStart(5, '0')}`);
      mkdirSync(join(dir, 'index/sha256'), { recursive: true });
      const at = new Date(base + i * 1000);
      writeFileSync(join(dir, 'index/sha256', hex), at.toISOString());
      writeFileSync(join(dir, 'current'), m.digest);
      utimesSync(join(dir, 'current'), at, at);
    }
    const p = await page();
    const started = performance.now();
    await open(p, 'repo=card/many');
    const ms = performance.now() - started;
    t.diagnostic(`a repository of 10,000 tags opened in ${Math.round(ms)} ms (goto to the tag table shown)`);
    assert.equal(await p.textContent('#tag-total'), '10000 tags');
    assert.equal(await p.$$eval('table.tag-table tbody tr', (trs) => trs.length), 50);

    await p.selectOption('#tag-sort', 'moved');
    await p.waitForFunction(() => document.querySelector('table.tag-table tbody tr')?.getAttribute('data-tag') === 't09999');
    const sortedMs = await p.evaluate(async () => {
      const t0 = performance.now();
      await fetch('/_ui/api/tags?repo=card/many&n=50&sort=moved');
      return performance.now() - t0;
    });
    t.diagnostic(`sorting 10,000 tags by last move: ${Math.round(sortedMs)} ms for the first page`);
    const order = await p.$$eval('table.tag-table tbody tr', (trs) => trs.slice(0, 3).map((tr) => tr.getAttribute('data-tag')));
    assert.deepEqual(order, ['t09999', 't09998', 't09997']);

    await p.fill('#tag-filter', 't0012');
    await p.waitForFunction(() => document.querySelector('#tag-total')?.textContent === '10 tags matching “t0012”');
    assert.match(await p.evaluate(() => location.hash), /q=t0012/);
    await shot(p, 'many-tags');
  });

  test('keyboard: "/" focuses the search, Tab reaches every link, Enter follows it', { timeout: 60_000 }, async () => {
    const p = await page();
    await open(p, '');
    await p.keyboard.press('/');
    assert.equal(await p.evaluate(() => document.activeElement?.id), 'search');
    await p.keyboard.type('card/gro');
    await p.waitForFunction(() => document.querySelectorAll('#repo-list a').length === 1).catch(async (e) => {
      throw new Error(`${e}: ${await p.evaluate(() => [document.querySelector('#search') && (document.querySelector('#search') as HTMLInputElement).value, document.querySelector('#repo-list')?.textContent].join(' | '))}`);
    });
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => (document.activeElement as HTMLElement)?.dataset.repo), 'card/grow');
    await p.keyboard.press('Enter');
    await p.waitForFunction(() => document.body.dataset.ready === '#repo=card%2Fgrow', undefined, { timeout: 5000 }).catch(async (e) => {
      throw new Error(`${e}: ${await p.evaluate(() => [location.hash, document.body.dataset.ready].join(' | '))}`);
    });
    assert.match((await p.textContent('#view h2'))!, /card\/grow/);
  });

  for (const [what, width] of [['a phone', 375], ['400% zoom', 320]] as const) {
    test(`at ${what} (${width} px wide) nothing is wider than the screen`, { timeout: 60_000 }, async () => {
      const p = await page(width, 800);
      for (const hash of ['repo=card/grow&tag=v1', 'repo=card/multi&tag=v1']) {
        await open(p, hash);
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${hash}: the page is ${overflow} px wider than the screen`);
      }
      await shot(p, `narrow-${width}`);
    });
  }
});
