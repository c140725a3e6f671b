// Every daemon cache has a cap: filled past it, it holds no more than the cap, so a
// daemon's memory is flat in the number of repositories, tags and revisions.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { digestOf } from '../../../shared/digest.js';
import { Paths } from '../../../shared/paths.js';
import { BlobStore } from '../../../store/blobs.js';
import { Lru, ManifestCache, TagCache } from '../../../store/cache.js';
import { prepareRoot } from '../../../store/root.js';
import { ManifestStore } from '../../../store/manifests.js';
import { Repositories } from '../../../store/repository.js';
import { SignatureStore } from '../../../store/signatures.js';

test('the LRU under every cache keeps at most its count and its bytes, dropping the least recently used', () => {
  const lru = new Lru<number>(20_000, 1_000_000);
  for (let i = 0; i < 25_000; i++) lru.set(`k${i}`, i, 10);
  assert.deepEqual(lru.held(), { entries: 20_000, bytes: 200_000 });
  assert.equal(lru.get('k0'), undefined);
  assert.equal(lru.get('k24999'), 24999);
  for (let i = 0; i < 30; i++) lru.set(`big${i}`, i, 100_000);
  assert.ok(lru.held().bytes <= 1_000_000);
  lru.set('huge', 1, 2_000_000);
  assert.equal(lru.get('huge'), undefined, 'an entry over the whole budget is not kept');
});

test('the tag cache holds at most 20,000 tags and 1,000 tag lists, however many it is asked for', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-cache-'));
  try {
    const paths = new Paths(root);
    await prepareRoot(paths);
    const cache = new TagCache();
    const repos = new Repositories(paths, cache);
    const blobs = new BlobStore(paths);
    const body = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"x","digest":"sha256:' + '0'.repeat(64) + '","size":1},"layers":[]}');
    const d = digestOf(body);
    await blobs.write(d, body);
    await repos.linkRevision('c/app', d, 'application/vnd.oci.image.manifest.v1+json');
    for (let i = 0; i < 1200; i++) await repos.setTag(`c/r${i}`, 'v1', d);
    for (let i = 0; i < 1200; i++) await repos.listTags(`c/r${i}`);
    // 21,000 lookups of tags (most absent: an absent tag is not kept at all, so ask existing ones too).
    for (let round = 0; round < 18; round++) for (let i = 0; i < 1200; i++) await repos.tagCurrent(`c/r${i}`, round ? `t${round}` : 'v1');
    const held = cache.held();
    assert.ok(held.tagLists.entries <= 1000, `${held.tagLists.entries} tag lists`);
    assert.ok(held.tags.entries <= 20_000, `${held.tags.entries} tags`);
    assert.equal(held.tags.entries, 1200, 'absent tags are not kept');
    const manifests = new ManifestCache();
    const store = new ManifestStore(repos, blobs, new SignatureStore(paths), manifests);
    for (let i = 0; i < 50; i++) {
      const big = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'x', digest: `sha256:${'1'.repeat(64)}`, size: 1 }, layers: [], annotations: { pad: 'x'.repeat(1 << 20), i: String(i) } }));
      const bd = digestOf(big);
      await blobs.write(bd, big);
      await repos.linkRevision('c/big', bd, 'application/vnd.oci.image.manifest.v1+json');
      await store.resolve('c/big', { digest: bd });
    }
    assert.ok(manifests.held().bytes <= 32 * 1024 * 1024, `${manifests.held().bytes} bytes of manifests`);
    assert.ok(manifests.held().entries < 50);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
