// The GC's removal machinery on its own (gc/trash.ts) and the sync tree walk it
// marks with (shared/tree.ts): what is removed is gone once close() returns, and
// no trash folder stays; what turns out to be in use is back in place, unchanged;
// the sync listings agree with the async ones, junk included.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Trash } from '../gc/trash.js';
import { Tree, listBlobsSync, listDigests, listDigestsSync, listTagsSync } from '../shared/tree.js';
import { Paths } from '../shared/paths.js';
import { parseDigest } from '../shared/reference.js';

let root: string;
let paths: Paths;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cairn-gc-trash-'));
  paths = new Paths(root);
});
after(() => rm(root, { recursive: true, force: true }));

const hex = (i: number, len = 64) => i.toString(16).padStart(4, '0').repeat(len / 4);
const write = async (p: string, data = 'x') => {
  await mkdir(join(p, '..'), { recursive: true });
  await writeFile(p, data);
};

test('retired files are gone once close() returns, across many folders, and no trash folder stays', async () => {
  const blobs = Array.from({ length: 300 }, (_, i) => parseDigest(`sha256:${(i % 256).toString(16).padStart(2, '0')}${i.toString(16).padStart(62, '0')}`));
  for (const d of blobs) await write(paths.blob(d), `blob ${d.hex}`);
  const trash = new Trash(paths);
  for (const d of blobs) assert.equal(await trash.retire(paths.blob(d), () => false), 'removed');
  await trash.close();
  assert.deepEqual(listBlobsSync(paths), []);
  assert.deepEqual(await readdir(paths.gcTrashDir()), []);
});

test('an item in use after the move goes back unchanged; a missing one is "gone"', async () => {
  const d = parseDigest(`sha256:${hex(7)}`);
  const p = paths.revision('a/b', d);
  await write(p, 'application/vnd.oci.image.manifest.v1+json');
  const trash = new Trash(paths);
  // In use only when asked about the moved file: a touch that landed just before the move.
  assert.equal(await trash.retire(p, (_st, at) => at !== p), 'spared');
  assert.equal(await readFile(p, 'utf8'), 'application/vnd.oci.image.manifest.v1+json');
  assert.equal(await trash.retire(paths.revision('a/b', parseDigest(`sha256:${hex(8)}`)), () => false), 'gone');
  await trash.close();
  assert.deepEqual(await readdir(paths.gcTrashDir()), []);
});

test('the sync listings equal the async ones, junk entries included', async () => {
  const tree = new Tree(paths);
  const a = parseDigest(`sha256:${hex(1)}`);
  const b = parseDigest(`sha512:${hex(2, 128)}`);
  for (const d of [a, b]) {
    await write(paths.revision('x', d));
    await write(paths.blob(d));
    await write(paths.tagIndexEntry('x', 'v1', d), '2026-01-01T00:00:00.000Z');
  }
  await write(join(paths.revisionsDir('x'), 'sha256', 'not-a-digest'));
  await write(join(paths.revisionsDir('x'), 'md5'));
  await write(join(paths.blobsDir(), 'sha256', 'zz', a.hex)); // a blob under the wrong prefix
  await mkdir(join(paths.tagsDir('x'), '.hidden'), { recursive: true });
  await write(join(paths.tagsDir('x'), 'a-file'));
  await mkdir(join(paths.tagsDir('x'), 'v2'), { recursive: true });
  assert.deepEqual(listDigestsSync(paths.revisionsDir('x')), await tree.listRevisions('x'));
  assert.deepEqual(listDigestsSync(paths.tagIndexDir('x', 'v1')), await listDigests(paths.tagIndexDir('x', 'v1')));
  assert.equal(listDigestsSync(paths.tagIndexDir('x', 'v1')).length, 2);
  assert.deepEqual(listTagsSync(paths, 'x'), await tree.listTags('x'));
  assert.deepEqual(listTagsSync(paths, 'x'), ['v1', 'v2']);
  assert.deepEqual(listBlobsSync(paths), [a, b]); // not the one under the wrong prefix
  assert.deepEqual(listDigestsSync(paths.layersDir('missing')), []);
  // One algorithm folder (a link count of 3 where folders count their subfolders):
  // sha256 alone, sha512 alone, and sha512 beside a file named sha256.
  await write(paths.tagIndexEntry('x', 'only256', a), '2026-01-01T00:00:00.000Z');
  await write(paths.tagIndexEntry('x', 'only512', b), '2026-01-01T00:00:00.000Z');
  await write(paths.tagIndexEntry('x', 'file256', b), '2026-01-01T00:00:00.000Z');
  await write(join(paths.tagIndexDir('x', 'file256'), 'sha256'));
  for (const [tag, want] of [['only256', a], ['only512', b], ['file256', b]] as const) {
    assert.deepEqual(listDigestsSync(paths.tagIndexDir('x', tag)), [want], tag);
    assert.deepEqual(await listDigests(paths.tagIndexDir('x', tag)), [want], tag);
  }
});
