// The immutable-references table of docs/api.md, one test per row.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaTypes } from '../shared/manifest.js';
import { Client } from './helpers/client.js';
import { daemonForFile } from './helpers/daemon.js';
import { type Built, image } from './helpers/images.js';
import { snapshot } from './helpers/tree.js';

const d = daemonForFile();
const c = new Client(d);

const hexOf = (m: Built) => m.digest.slice('sha256:'.length);
const status = async (method: string, path: string) => (await c.req(method, path)).status;
const currentOf = async (name: string, tag: string) =>
  (await c.req('HEAD', `/v2/${name}/manifests/${tag}`)).headers.get('docker-content-digest');
const history = async (name: string, tag: string): Promise<string[]> =>
  (await c.req('GET', `/v2/${name}/_oci/tag-history/${tag}`)).json.manifests.map((m: { digest: string }) => m.digest);

/** Pushes n revisions to one tag, oldest first. */
async function pushRevisions(name: string, tag: string, n: number): Promise<Built[]> {
  const out: Built[] = [];
  for (let i = 0; i < n; i++) {
    const m = image();
    await c.pushImage(name, m, tag);
    out.push(m);
  }
  return out;
}

describe('PUT', () => {
  test('by tag: stores the revision, adds a history entry, moves current', async () => {
    const [a, b] = await pushRevisions('r/put', 'v1', 2);
    assert.equal(await currentOf('r/put', 'v1'), b!.digest);
    assert.deepEqual(await history('r/put', 'v1'), [b!.digest, a!.digest]);
    const snap = await snapshot(d.root);
    assert.ok(snap[`repositories/r/put/_revisions/sha256/${hexOf(a!)}`]);
    assert.ok(snap[`repositories/r/put/_tags/v1/index/sha256/${hexOf(a!)}`]);
    assert.ok(snap[`blobs/sha256/${hexOf(a!).slice(0, 2)}/${hexOf(a!)}`]);
  });

  test('an identical re-PUT changes nothing but the history time', async () => {
    const [m] = await pushRevisions('r/same', 'v1', 1);
    const before_ = await snapshot(d.root);
    await new Promise((ok) => setTimeout(ok, 5));
    const r = await c.putManifest('r/same', 'v1', m!);
    assert.equal(r.status, 201);
    const after_ = await snapshot(d.root);
    const changed = Object.keys(after_).filter((k) => after_[k] !== before_[k]);
    assert.deepEqual(changed.sort(), [`repositories/r/same/_tags/v1/index/sha256/${hexOf(m!)}`, 'repositories/r/same/_tags/v1/log']); // the entry re-dated, and the move logged
    assert.deepEqual(Object.keys(after_).sort(), Object.keys(before_).sort());
  });

  test('re-PUT of an old revision moves it to the top of the history', async () => {
    const [a, b] = await pushRevisions('r/back', 'v1', 2);
    await c.putManifest('r/back', 'v1', a!);
    assert.equal(await currentOf('r/back', 'v1'), a!.digest);
    assert.deepEqual(await history('r/back', 'v1'), [a!.digest, b!.digest]);
  });

  test('by digest: no tag moves; the body must hash to the digest', async () => {
    const [a] = await pushRevisions('r/bydigest', 'v1', 1);
    const b = image();
    const r = await c.pushImage('r/bydigest', b, b.digest);
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), `/v2/r/bydigest/manifests/${b.digest}`);
    assert.equal(await currentOf('r/bydigest', 'v1'), a!.digest);
    const wrong = await c.putManifest('r/bydigest', a!.digest, b);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.errors[0].code, 'DIGEST_INVALID');
  });
});

describe('GET/HEAD', () => {
  test('by tag: the current revision; by digest: any revision, tagged or not', async () => {
    const [a, b] = await pushRevisions('r/get', 'v1', 2);
    const byTag = await c.req('GET', '/v2/r/get/manifests/v1');
    assert.deepEqual(byTag.body, b!.body);
    const old = await c.req('GET', `/v2/r/get/manifests/${a!.digest}`);
    assert.equal(old.status, 200, 'an untagged revision stays addressable');
    assert.deepEqual(old.body, a!.body);
    assert.equal(old.headers.get('docker-content-digest'), a!.digest);
  });

  test('<tag>/<digest>: only a revision in that tag\'s history', async () => {
    const [a] = await pushRevisions('r/hist', 'v1', 2);
    const [other] = await pushRevisions('r/hist', 'v2', 1);
    const ok = await c.req('GET', `/v2/r/hist/manifests/v1/${a!.digest}`);
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.body, a!.body);
    assert.equal(ok.headers.get('docker-content-digest'), a!.digest);
    assert.equal(await status('HEAD', `/v2/r/hist/manifests/v1/${a!.digest}`), 200);
    const no = await c.req('GET', `/v2/r/hist/manifests/v1/${other!.digest}`);
    assert.equal(no.status, 404);
    assert.equal(no.json.errors[0].code, 'MANIFEST_UNKNOWN');
  });
});

describe('DELETE', () => {
  test('by digest: unlinked from the repository and every history; its tags go', async () => {
    const [a, b] = await pushRevisions('r/deldigest', 'v1', 2);
    await c.putManifest('r/deldigest', 'v2', a!); // v2 → a, v1 → b (history a, b)
    await c.putManifest('r/deldigest', 'v3', b!); // v3 → b
    assert.equal(await status('DELETE', `/v2/r/deldigest/manifests/${a!.digest}`), 202);
    assert.equal(await status('GET', `/v2/r/deldigest/manifests/${a!.digest}`), 404);
    assert.deepEqual(await history('r/deldigest', 'v1'), [b!.digest]);
    assert.equal(await status('GET', '/v2/r/deldigest/manifests/v2'), 404, 'the tag whose current it was is removed');
    assert.deepEqual((await c.req('GET', '/v2/r/deldigest/tags/list')).json.tags, ['v1', 'v3']);
    assert.equal(await status('DELETE', `/v2/r/deldigest/manifests/${a!.digest}`), 404);
  });

  test('<tag>/<digest>: dropped from that history only; current falls back to the newest remaining', async () => {
    const [a, b, cc] = await pushRevisions('r/deltag', 'v1', 3);
    assert.equal(await status('DELETE', `/v2/r/deltag/manifests/v1/${cc!.digest}`), 202);
    assert.equal(await currentOf('r/deltag', 'v1'), b!.digest);
    assert.deepEqual(await history('r/deltag', 'v1'), [b!.digest, a!.digest]);
    assert.equal(await status('GET', `/v2/r/deltag/manifests/${cc!.digest}`), 200, 'still addressable by digest');
    assert.equal(await status('DELETE', `/v2/r/deltag/manifests/v1/${a!.digest}`), 202);
    assert.equal(await currentOf('r/deltag', 'v1'), b!.digest, 'an old entry goes without moving current');
    assert.equal(await status('DELETE', `/v2/r/deltag/manifests/v1/${b!.digest}`), 202);
    assert.equal(await status('GET', '/v2/r/deltag/manifests/v1'), 404, 'no revision left: the tag is removed');
    assert.equal(await status('DELETE', `/v2/r/deltag/manifests/v1/${b!.digest}`), 404);
  });

  test('by tag: the tag and its history go; revisions no other tag holds are unlinked', async () => {
    const [a, b] = await pushRevisions('r/deltagall', 'v1', 2);
    await c.putManifest('r/deltagall', 'keep', a!);
    assert.equal(await status('DELETE', '/v2/r/deltagall/manifests/v1'), 202);
    assert.equal(await status('GET', '/v2/r/deltagall/manifests/v1'), 404);
    assert.equal(await status('GET', `/v2/r/deltagall/manifests/${a!.digest}`), 200, 'held by tag keep');
    assert.equal(await status('GET', `/v2/r/deltagall/manifests/${b!.digest}`), 404, 'held by no other tag');
    assert.deepEqual(await history('r/deltagall', 'v1'), []);
    assert.equal(await status('DELETE', '/v2/r/deltagall/manifests/v1'), 404);
  });
});

describe('_oci/tag-history and _cairn/revisions', () => {
  test('tag history is an OCI index, newest first, annotated', async () => {
    const [a, b] = await pushRevisions('r/th', 'v1', 2);
    const r = await c.req('GET', '/v2/r/th/_oci/tag-history/v1');
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), MediaTypes.ociIndex);
    assert.equal(r.json.schemaVersion, 2);
    assert.equal(r.json.mediaType, MediaTypes.ociIndex);
    const [first, second] = r.json.manifests;
    assert.equal(first.digest, b!.digest);
    assert.equal(second.digest, a!.digest);
    assert.equal(first.size, b!.size);
    assert.equal(first.mediaType, b!.mediaType);
    assert.equal(first.annotations['org.opencontainers.image.ref.name'], 'v1');
    assert.equal(first.annotations['dev.cairn.current'], 'true');
    assert.equal(second.annotations['dev.cairn.current'], undefined);
    assert.ok(first.annotations['dev.cairn.tagged-at'] >= second.annotations['dev.cairn.tagged-at']);
    assert.ok(!Number.isNaN(Date.parse(first.annotations['dev.cairn.tagged-at'])));
  });

  test('tag history pages with n and last (a digest)', async () => {
    const revs = (await pushRevisions('r/thpage', 'v1', 5)).reverse();
    const p1 = await c.req('GET', '/v2/r/thpage/_oci/tag-history/v1?n=2');
    assert.deepEqual(p1.json.manifests.map((m: { digest: string }) => m.digest), [revs[0]!.digest, revs[1]!.digest]);
    assert.match(p1.headers.get('link')!, new RegExp(`^</v2/r/thpage/_oci/tag-history/v1\\?n=2&last=${encodeURIComponent(revs[1]!.digest)}&at=\\d+>; rel="next"$`)); // at: where in the tag's log the page ended
    const p2 = await c.req('GET', `/v2/r/thpage/_oci/tag-history/v1?n=3&last=${revs[1]!.digest}`);
    assert.deepEqual(p2.json.manifests.map((m: { digest: string }) => m.digest), revs.slice(2).map((m) => m.digest));
    assert.equal(p2.headers.get('link'), null);
    const viaLink = await c.req('GET', p1.headers.get('link')!.slice(1, p1.headers.get('link')!.indexOf('>')).replace('n=2', 'n=3'));
    assert.deepEqual(viaLink.json.manifests.map((m: { digest: string }) => m.digest), revs.slice(2).map((m) => m.digest));
  });

  test('tag history without n gives 100 entries and a Link; following it gives the rest, in order; a tag with no log gets one', async () => {
    const revs = (await pushRevisions('r/thdefault', 'v1', 130)).reverse().map((m) => m.digest);
    const p1 = await c.req('GET', '/v2/r/thdefault/_oci/tag-history/v1');
    assert.equal(p1.json.manifests.length, 100);
    const link = p1.headers.get('link')!;
    const p2 = await c.req('GET', link.slice(1, link.indexOf('>')));
    assert.deepEqual([...p1.json.manifests, ...p2.json.manifests].map((m: { digest: string }) => m.digest), revs);
    assert.equal(p2.headers.get('link'), null);
    // A root from before tag logs: the history reads the same, and the log is written.
    const log = join(d.root, 'repositories/r/thdefault/_tags/v1/log');
    await rm(log);
    const again = await c.req('GET', '/v2/r/thdefault/_oci/tag-history/v1?n=1000');
    assert.deepEqual(again.json.manifests.map((m: { digest: string }) => m.digest), revs);
    assert.ok(existsSync(log));
  });

  test('an unknown repository or tag has an empty history', async () => {
    for (const path of ['/v2/r/nothing/_oci/tag-history/v1', '/v2/r/th/_oci/tag-history/none']) {
      const r = await c.req('GET', path);
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.manifests, []);
    }
  });

  test('revisions list tags and histories for a keep-list', async () => {
    const [a, b] = await pushRevisions('r/revs', 'v1', 2);
    await c.putManifest('r/revs', 'v2', a!);
    const r = await c.req('GET', '/v2/r/revs/_cairn/revisions');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'r/revs');
    const byDigest = Object.fromEntries(r.json.revisions.map((x: { digest: string }) => [x.digest, x]));
    assert.deepEqual(r.json.revisions.map((x: { digest: string }) => x.digest), [a!.digest, b!.digest].sort());
    assert.deepEqual(byDigest[a!.digest], { digest: a!.digest, mediaType: a!.mediaType, size: a!.size, tags: ['v2'], history: ['v1', 'v2'] });
    assert.deepEqual(byDigest[b!.digest], { digest: b!.digest, mediaType: b!.mediaType, size: b!.size, tags: ['v1'], history: ['v1'] });
    const page = await c.req('GET', '/v2/r/revs/_cairn/revisions?n=1');
    assert.equal(page.json.revisions.length, 1);
    assert.match(page.headers.get('link')!, /rel="next"/);
  });

  test('a revision 150 tags point at lists 100 of them and says there are more; the answer stays small', async () => {
    const [m] = await pushRevisions('r/many', 't000', 1);
    for (let i = 1; i < 150; i++) await c.putManifest('r/many', `t${String(i).padStart(3, '0')}`, m!);
    const r = await c.req('GET', '/v2/r/many/_cairn/revisions');
    const [rev] = r.json.revisions;
    assert.equal(rev.tags.length, 100);
    assert.equal(rev.tags[0], 't000');
    assert.equal(rev.tagsTruncated, true);
    assert.equal(rev.historyTruncated, true);
    const few = (await c.req('GET', '/v2/r/revs/_cairn/revisions')).json.revisions[0];
    assert.equal(few.tagsTruncated, undefined, 'no flag where the list is whole');
  });
});

describe('a reference that is neither a tag nor a digest', () => {
  test('GET, HEAD and DELETE answer 404 MANIFEST_UNKNOWN (clients probe with such names); a PUT answers 400 TAG_INVALID', async () => {
    const [m] = await pushRevisions('r/odd', 'v1', 1);
    const { rawRequest, assertOciError } = await import('./helpers/raw.js');
    const before = await snapshot(d.root);
    for (const ref of ['.INVALID_NAME', '-dash', 'sha256:zz', 'a'.repeat(129), `v1/${'sha256:nothex'}`]) {
      for (const method of ['GET', 'DELETE']) {
        assertOciError(await rawRequest(d.url, method, `/v2/r/odd/manifests/${ref}`), 404, 'MANIFEST_UNKNOWN', `${method} ${ref}`);
      }
      const head = await rawRequest(d.url, 'HEAD', `/v2/r/odd/manifests/${ref}`);
      assert.equal(head.status, 404, `HEAD ${ref}`);
    }
    for (const ref of ['.INVALID_NAME', '-dash', 'sha256:zz']) {
      const put = await rawRequest(d.url, 'PUT', `/v2/r/odd/manifests/${ref}`, { body: m!.body, headers: { 'Content-Type': m!.mediaType } });
      assertOciError(put, 400, 'TAG_INVALID', `PUT ${ref}`);
    }
    assert.deepEqual(await snapshot(d.root), before, 'nothing changed on disk');
  });
});
