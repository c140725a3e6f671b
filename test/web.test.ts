// The read-only page at /: its JSON pages through 1,000 repositories and a tag of
// 1,000 revisions (their times reported), and in a real headless chromium a repository opens, a tag
// pushed three times shows its timeline with the current revision marked, and a
// digest reference is copied.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MediaTypes } from '../shared/manifest.js';
import { openRegistry } from '../store/index.js';
import { launchChromium, noBrowser } from './helpers/browser.js';
import { Client } from './helpers/client.js';
import { daemonForFile } from './helpers/daemon.js';
import { built, image } from './helpers/images.js';

const d = daemonForFile();
const c = new Client(d);

describe('the page\'s JSON', () => {
  test('1,000 repositories and a tag with 1,000 revisions: paged and searchable (first pages timed, reported)', async (t) => {
    // Written in-process through the store (the same code a PUT runs), to keep the test short.
    const reg = openRegistry(d.root);
    const put = (name: string, i: number, tags: string[]) =>
      reg.manifests.put(name, built({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [], annotations: { i: String(i) } }, MediaTypes.ociIndex).body, MediaTypes.ociIndex, undefined, tags);
    for (let i = 0; i < 1000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => put(`bulk/r${String(i + k).padStart(4, '0')}`, i + k, ['latest'])));
    const digests: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const { digest } = await put('bulk/long', i, ['v1']);
      digests.push(`sha256:${digest.hex}`);
    }

    let started = performance.now();
    const first = await c.req('GET', '/_ui/api/repositories?n=100');
    const ms = performance.now() - started;
    assert.equal(first.json.total, 1001);
    assert.equal(first.json.repositories.length, 100);
    t.diagnostic(`first page of 1,001 repositories: ${Math.round(ms)} ms`);
    const second = await c.req('GET', `/_ui/api/repositories?n=100&last=${encodeURIComponent(first.json.next)}`);
    assert.equal(second.json.repositories[0].name, 'bulk/r0099'); // bulk/long sorts first
    const search = await c.req('GET', '/_ui/api/repositories?q=r099');
    assert.deepEqual(search.json.repositories.map((r: any) => r.name), Array.from({ length: 10 }, (_, k) => `bulk/r099${k}`));

    started = performance.now();
    const page = await c.req('GET', '/_ui/api/history?repo=bulk/long&tag=v1&n=50');
    const hms = performance.now() - started;
    t.diagnostic(`first page of 1,000 revisions: ${Math.round(hms)} ms`);
    assert.equal(page.json.total, 1000);
    assert.equal(page.json.entries.length, 50);
    assert.equal(page.json.entries[0].current, true);
    assert.equal(page.json.entries[0].digest, digests.at(-1));
    const seen = new Set<string>();
    let last: string | undefined;
    for (;;) {
      const p = await c.req('GET', `/_ui/api/history?repo=bulk/long&tag=v1&n=200${last ? `&last=${last}` : ''}`);
      for (const e of p.json.entries) seen.add(e.digest);
      if (!p.json.next) break;
      last = p.json.next;
    }
    assert.equal(seen.size, 1000, 'every revision, once, across pages');

    const bad = await c.req('GET', '/_ui/api/tags?repo=..%2Fetc');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.errors[0].code, 'NAME_INVALID');
  });
});

describe('the page in headless chromium', () => {
  const skip = noBrowser;

  test('open a repository, see a tag pushed three times as a timeline with the current one marked, copy a digest reference', { skip, timeout: 60_000 }, async () => {
    const pushes = [];
    for (let i = 0; i < 3; i++) {
      const m = image({ layers: [`web layer ${i}`] });
      await c.pushImage('web/app', m, 'v1');
      pushes.push(m.digest);
      await new Promise((ok) => setTimeout(ok, 20)); // distinct tagged-at times
    }
    await c.pushImage('web/other', image(), 'stable');

    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: d.url });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${d.url}/`);

      await page.fill('#search', 'web/');
      await page.waitForFunction(() => document.querySelectorAll('#repo-list a').length === 2);
      assert.deepEqual(await page.$$eval('#repo-list a', (as) => as.map((a) => (a as HTMLElement).dataset.repo)), ['web/app', 'web/other']);

      await page.click('#repo-list a[data-repo="web/app"]');
      await page.waitForSelector('tr[data-tag="v1"]');
      await page.click('tr[data-tag="v1"] a');
      await page.waitForFunction(() => document.querySelectorAll('ol.timeline li.entry').length === 3);

      const entries = await page.$$eval('ol.timeline li.entry', (lis) =>
        lis.map((li) => ({ digest: (li as HTMLElement).dataset.digest, current: li.classList.contains('current'), badge: li.querySelector('.badge')?.textContent ?? null })),
      );
      assert.deepEqual(entries, [
        { digest: pushes[2], current: true, badge: 'current' },
        { digest: pushes[1], current: false, badge: null },
        { digest: pushes[0], current: false, badge: null },
      ], 'newest first, only the current one marked');

      if (process.env.CAIRN_SCREENSHOT) await page.screenshot({ path: process.env.CAIRN_SCREENSHOT, fullPage: true });

      // Copy name:tag@digest of an older revision, then name@digest of the current one.
      await page.click(`li.entry[data-digest="${pushes[1]}"] button[data-copy="web/app:v1@${pushes[1]}"]`);
      assert.equal(await page.evaluate(() => (window as any).__cairnCopied), `web/app:v1@${pushes[1]}`);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `web/app:v1@${pushes[1]}`);
      await page.click(`li.entry.current button[data-copy="web/app@${pushes[2]}"]`);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `web/app@${pushes[2]}`);
      await page.waitForSelector('#toast.show');

      // A revision: its layers and the copy buttons.
      await page.click(`li.entry[data-digest="${pushes[0]}"] .line a`);
      await page.waitForSelector('section.panel h3');
      const headings = await page.$$eval('section.panel h3', (hs) => hs.map((h) => h.textContent));
      assert.deepEqual(headings, ['Pull', 'Config', 'Layers', 'Signatures, attestations and SBOMs', 'Referrers']);
      assert.match((await page.textContent('#view'))!, /in the history of v1/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
