// fsck/check.ts on trees written by the store itself, then damaged by hand: each
// kind of damage is one finding of its kind, and a clean tree has none.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkTree } from '../../../fsck/check.js';
import { Tree } from '../../../shared/tree.js';
import { openRegistry } from '../../../store/index.js';
import { parseDigest } from '../../../shared/reference.js';
import { image } from '../../helpers/images.js';

async function storeWithImage() {
  const root = await mkdtemp(join(tmpdir(), 'cairn-check-'));
  await mkdir(join(root, 'tmp'));
  const reg = openRegistry(root);
  const m = image({ layers: ['check layer'] });
  for (const b of m.blobs) {
    await reg.blobs.write(parseDigest(b.digest), b.data);
    await reg.repos.linkLayer('c/app', parseDigest(b.digest));
  }
  await reg.manifests.put('c/app', m.body, m.mediaType, undefined, ['v1']);
  return { root, reg, m, tree: new Tree(reg.paths) };
}

test('a tree the store wrote is clean', async () => {
  const { root, tree } = await storeWithImage();
  try {
    const result = await checkTree(tree);
    assert.deepEqual(result.findings, []);
    assert.equal(result.counts.revisions, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

const damages: { kind: string; damage: (s: Awaited<ReturnType<typeof storeWithImage>>) => Promise<void> }[] = [
  { kind: 'blob-corrupt', damage: async ({ reg, m }) => writeFile(reg.paths.blob(parseDigest(m.blobs[1]!.digest)), 'not the layer') },
  { kind: 'tag-current-dangling', damage: async ({ reg }) => writeFile(reg.paths.tagCurrent('c/app', 'v1'), `sha256:${'e'.repeat(64)}`) },
  { kind: 'tag-current-not-in-history', damage: async ({ reg, m }) => unlink(reg.paths.tagIndexEntry('c/app', 'v1', parseDigest(m.digest))) },
  { kind: 'layer-link-dangling', damage: async ({ reg }) => writeFile(reg.paths.layer('c/app', parseDigest(`sha256:${'f'.repeat(64)}`)), '') },
];
for (const { kind, damage } of damages) {
  test(`finds ${kind}, with a repair`, async () => {
    const store = await storeWithImage();
    try {
      await damage(store);
      const findings = (await checkTree(store.tree)).findings;
      const found = findings.find((f) => f.kind === kind);
      assert.ok(found, `${kind} among ${findings.map((f) => f.kind).join(', ')}`);
      assert.ok(found.repair, 'fsck --repair has something to do');
    } finally {
      await rm(store.root, { recursive: true, force: true });
    }
  });
}
