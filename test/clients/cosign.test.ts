// cosign against the real daemon, with a key pair and no transparency log: sign and
// verify an image with the legacy tag scheme (`sha256-<hex>.sig`) and with OCI 1.1
// referrers, attest and verify the attestation; then `cairn gc` keeps what is
// attached to kept images and removes what was attached to removed ones.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { cairnGc } from '../helpers/gc.js';
import { type Built, realImage } from '../helpers/images.js';
import { ok, run, tool } from './tools.js';

const cosign = tool('cosign', 'go install github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 (.ci/tools.sh does)');
const INSECURE = ['--allow-http-registry', '--allow-insecure-registry'];
const tagOf = (digest: string, suffix: string) => `${digest.replace(':', '-')}.${suffix}`;

describe('cosign', { skip: cosign.skip }, () => {
  let d: TestDaemon;
  let work: string;
  let kept: Built;
  let removed: Built;
  let referred: Built;
  const env = () => ({ HOME: work, COSIGN_PASSWORD: 'test-password', COSIGN_EXPERIMENTAL: '1' });
  const co = (...args: string[]) => ok(cosign.path, args, { cwd: work, env: env() });
  const ref = (repo: string, digest: string) => `${d.host}/${repo}@${digest}`;
  const tags = async (repo: string): Promise<string[]> => (await new Client(d).req('GET', `/v2/${repo}/tags/list`)).json.tags;

  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-cosign-'));
    await co('generate-key-pair');
    kept = await realImage({ 'kept.txt': 'kept\n' });
    removed = await realImage({ 'removed.txt': 'removed\n' });
    referred = await realImage({ 'referred.txt': 'referred\n' });
    const c = new Client(d);
    await c.pushImage('signed/app', kept, 'stable');
    await c.pushImage('signed/app', removed, 'old');
    await c.pushImage('signed/app', referred, 'oci11');
    await writeFile(join(work, 'predicate.json'), JSON.stringify({ builder: 'cairn test', steps: 3 }));
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('sign and verify with the legacy tag scheme: the signature is the tag sha256-<hex>.sig', async () => {
    for (const img of [kept, removed]) {
      await co('sign', '--key', 'cosign.key', '--tlog-upload=false', '-y', ...INSECURE, ref('signed/app', img.digest));
      const out = await co('verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', ...INSECURE, ref('signed/app', img.digest));
      assert.equal(JSON.parse(out)[0].critical.image['docker-manifest-digest'], img.digest);
    }
    const listed = await tags('signed/app');
    assert.ok(listed.includes(tagOf(kept.digest, 'sig')) && listed.includes(tagOf(removed.digest, 'sig')), listed.join(' '));
  });

  test('sign and verify with OCI 1.1 referrers: a referrer, no tag', async () => {
    await co('sign', '--key', 'cosign.key', '--tlog-upload=false', '-y', '--registry-referrers-mode=oci-1-1', ...INSECURE, ref('signed/app', referred.digest));
    await co('verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--experimental-oci11', ...INSECURE, ref('signed/app', referred.digest));
    const r = await new Client(d).req('GET', `/v2/signed/app/referrers/${referred.digest}`);
    assert.equal(r.json.manifests.length, 1);
    assert.equal(r.json.manifests[0].artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    assert.ok(!(await tags('signed/app')).includes(tagOf(referred.digest, 'sig')));
  });

  test('attest and verify-attestation', async () => {
    for (const img of [kept, removed]) {
      await co('attest', '--key', 'cosign.key', '--tlog-upload=false', '-y', '--type', 'custom', '--predicate', 'predicate.json', ...INSECURE, ref('signed/app', img.digest));
    }
    const out = await co('verify-attestation', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--type', 'custom', ...INSECURE, ref('signed/app', kept.digest));
    const statement = JSON.parse(Buffer.from(JSON.parse(out.trim().split('\n')[0]!).payload, 'base64').toString());
    assert.deepEqual(JSON.parse(statement.predicate.Data), { builder: 'cairn test', steps: 3 }); // --type custom wraps it
    assert.ok((await tags('signed/app')).includes(tagOf(kept.digest, 'att')));
  });

  test('cairn gc: what is attached to kept images stays and verifies; what was attached to a removed image goes', async () => {
    assert.equal((await new Client(d).req('DELETE', '/v2/signed/app/manifests/old')).status, 202);
    const gc = await cairnGc(d.root, ['--grace', '0s', '--json']);
    assert.equal(gc.code, 0, gc.stderr);
    const after = await tags('signed/app');
    assert.deepEqual(after.sort(), ['oci11', 'stable', tagOf(kept.digest, 'att'), tagOf(kept.digest, 'sig')].sort());
    assert.equal(gc.report.tagsRemoved, 2, 'the .sig and .att of the removed image');
    await co('verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', ...INSECURE, ref('signed/app', kept.digest));
    await co('verify-attestation', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--type', 'custom', ...INSECURE, ref('signed/app', kept.digest));
    await co('verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--experimental-oci11', ...INSECURE, ref('signed/app', referred.digest));
    const gone = await run(cosign.path, ['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', ...INSECURE, ref('signed/app', removed.digest)], { cwd: work, env: env() });
    assert.notEqual(gone.code, 0, 'the removed image and its signature are gone');
  });
});
