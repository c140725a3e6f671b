// The OCI distribution-spec conformance suite (its own binary, built from its Go
// module) against the real daemon: every API workflow on, with and without the
// anonymous (automatic) cross-mount, and once more in token mode with a user.
//
// One data set stays off: "sparse" manifests, whose layers were never pushed. Cairn
// refuses those with MANIFEST_BLOB_UNKNOWN on purpose (the spec allows either): a
// manifest's references are always in its repository, which is what lets GC trust
// the tree and a pull never meet a missing layer.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hashSync } from '@node-rs/bcrypt';
import type { ServeOptions } from '../../daemon/main.js';
import { startDaemon } from '../helpers/daemon.js';
import { run, tool } from './tools.js';

const conformance = tool('conformance', 'go install github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111 (.ci/tools.sh does)');

const ALL_ON = {
  OCI_TLS: 'disabled',
  OCI_API_BLOBS_UPLOAD_CANCEL: 'true',
  OCI_API_MANIFESTS_TAG_PARAM: 'true',
  OCI_API_BLOBS_DIGEST_HEADER: 'true',
  OCI_API_MANIFESTS_DIGEST_HEADER: 'true',
  OCI_DATA_SPARSE: 'false',
};

async function conform(name: string, serve: Partial<ServeOptions>, env: Record<string, string>): Promise<void> {
  const d = await startDaemon({ serve });
  const results = await mkdtemp(join(tmpdir(), 'cairn-conformance-'));
  try {
    const r = await run(conformance.path, [], {
      cwd: results,
      timeout: 300_000,
      env: { ...ALL_ON, OCI_REGISTRY: d.host, OCI_REPO1: `${name}/one`, OCI_REPO2: `${name}/two`, OCI_RESULTS_DIR: join(results, 'out'), ...env },
    });
    const failed = r.stdout.split('\n').filter((l) => /: FAIL$/.test(l) && !/\.\.\.\./.test(l));
    assert.deepEqual(failed, [], `conformance failures (report: ${join(results, 'out', 'report.html')})`);
    assert.equal(r.code, 0, r.stdout.slice(-3000));
    assert.match(r.stdout, /FAIL\.+:\s+0$/m);
    const summary = await readFile(join(results, 'out', 'results.yaml'), 'utf8');
    assert.doesNotMatch(summary, /: FAIL$/m);
    await rm(results, { recursive: true, force: true }); // kept for a look when a run fails
  } finally {
    await d.close();
  }
}

describe('the OCI conformance suite', { skip: conformance.skip }, () => {
  test('no auth, every workflow on, automatic cross-mount on', { timeout: 300_000 }, () => conform('conformance-a', {}, {}));
  test('no auth, automatic cross-mount off', { timeout: 300_000 }, () => conform('conformance-b', {}, { OCI_API_BLOBS_MOUNT_ANONYMOUS: 'false' }));
  test('token mode, signed in as a user', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cairn-conformance-auth-'));
    try {
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(htpasswd, `tester:${hashSync('conform-pw', 5)}\n`);
      await conform('conformance-t', { auth: 'token', htpasswd }, { OCI_USERNAME: 'tester', OCI_PASSWORD: 'conform-pw' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
