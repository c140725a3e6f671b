// helm against the real daemon: a chart packaged, pushed to oci://, pulled back
// byte-identical, and its Chart.yaml shown straight from the registry.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../helpers/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { sha256 } from '../helpers/images.js';
import { ok, tool } from './tools.js';

const helm = tool('helm', 'go install helm.sh/helm/v4/cmd/helm@v4.3.2 (.ci/tools.sh does)');

describe('helm', { skip: helm.skip }, () => {
  let d: TestDaemon;
  let work: string;
  const h = (...args: string[]) =>
    ok(helm.path, args, {
      cwd: work,
      env: { HOME: work, HELM_CACHE_HOME: join(work, 'cache'), HELM_CONFIG_HOME: join(work, 'config'), HELM_DATA_HOME: join(work, 'data') },
    });
  before(async () => {
    d = await startDaemon();
    work = await mkdtemp(join(tmpdir(), 'cairn-helm-'));
    await h('create', 'cairn-demo');
    await h('package', 'cairn-demo', '--version', '1.2.3');
  });
  after(async () => {
    await d.close();
    await rm(work, { recursive: true, force: true });
  });

  test('push a chart to oci://, as a helm chart manifest tagged with its version', async () => {
    await h('push', 'cairn-demo-1.2.3.tgz', `oci://${d.host}/charts`, '--plain-http');
    const c = new Client(d);
    assert.deepEqual((await c.req('GET', '/v2/charts/cairn-demo/tags/list')).json.tags, ['1.2.3']);
    const m = await c.req('GET', '/v2/charts/cairn-demo/manifests/1.2.3', { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(m.status, 200);
    assert.equal(m.json.config.mediaType, 'application/vnd.cncf.helm.config.v1+json');
    assert.equal(m.json.layers[0].mediaType, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    assert.equal(m.json.layers[0].digest, sha256(await readFile(join(work, 'cairn-demo-1.2.3.tgz'))), 'the chart archive as pushed');
  });

  test('pull it back byte-identical; show chart reads Chart.yaml from the registry', async () => {
    await mkdir(join(work, 'pulled'));
    await h('pull', `oci://${d.host}/charts/cairn-demo`, '--version', '1.2.3', '--plain-http', '--destination', join(work, 'pulled'));
    assert.deepEqual(await readFile(join(work, 'pulled', 'cairn-demo-1.2.3.tgz')), await readFile(join(work, 'cairn-demo-1.2.3.tgz')));
    const shown = await h('show', 'chart', `oci://${d.host}/charts/cairn-demo`, '--version', '1.2.3', '--plain-http');
    assert.match(shown, /^name: cairn-demo$/m);
    assert.match(shown, /^version: 1\.2\.3$/m);
  });
});
