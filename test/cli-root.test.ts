// `--root` that names no storage root: every command refuses an empty value (an
// unset variable in `--root "$ROOT"`) instead of working in the folder it was started
// from, and `cairn gc` refuses a folder that holds blobs/ but no repositories/. Each
// command runs as the built CLI in an empty temp folder, which must stay as it was.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cairn } from './helpers/cli.js';


let cwd: string;
before(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'cairn-cli-root-'));
});
after(() => rm(cwd, { recursive: true, force: true }));

for (const args of [
  ['serve', '--root', '', '--listen', '127.0.0.1:0'],
  ['gc', '--root', '', '--grace', '0s'],
  ['fsck', '--root', ''],
  ['inventory', '--root', ''],
  ['events', '--root', ''],
]) {
  test(`cairn ${args[0]} --root "" fails and writes nothing where it was started`, async () => {
    const r = await cairn(args, { cwd, timeout: 20_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--root is empty/);
    assert.deepEqual(await readdir(cwd), []);
  });
}

test('cairn gc refuses a folder with blobs/ and no repositories/ (an OCI layout), removing nothing', async () => {
  const layout = join(cwd, 'layout');
  const blob = join(layout, 'blobs', 'sha256', 'ab'.repeat(32));
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blob, 'not referenced by any repository');
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const r = await cairn(['gc', '--root', layout, '--grace', '0s'], { cwd, timeout: 20_000 });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not a Cairn storage root/);
  assert.deepEqual((await readdir(layout)).sort(), ['blobs', 'oci-layout']);
  assert.deepEqual(await readdir(join(layout, 'blobs', 'sha256')), ['ab'.repeat(32)]);
  await rm(layout, { recursive: true });
});
