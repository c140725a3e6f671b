// skopeo with --creds against htpasswd mode and token mode (skopeo follows the Bearer
// challenge to /token): push, pull back byte for byte, and be refused without
// credentials. The daemon's log of all of it holds no password and no token.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { authFiles, capturedLogger } from './helpers/auth.js';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { realImage, writeOciLayout, type Built } from './helpers/images.js';

const SKOPEO = process.env.SKOPEO ?? 'skopeo';
const PASSWORD = 'sk0peo-Secret-Pa55';
const RULES = { rules: [{ repositories: ['ci/**'], users: ['builder'], actions: ['pull', 'push', 'delete'] }] };

for (const mode of ['htpasswd', 'token'] as const) {
  describe(`skopeo --creds, --auth ${mode}`, () => {
    let d: TestDaemon;
    let work: string;
    let dir: string;
    let img: Built;
    const log = capturedLogger();

    function skopeo(...args: string[]): Promise<string> {
      const env = { ...process.env, HOME: join(work, 'home'), REGISTRY_AUTH_FILE: join(work, 'auth.json') };
      return new Promise((ok, fail) => {
        execFile(SKOPEO, ['--insecure-policy', '--tmpdir', join(work, 'tmp'), ...args], { env }, (err, stdout, stderr) => {
          if (err) fail(new Error(`skopeo ${args.join(' ')}: ${stderr}`));
          else ok(stdout);
        });
      });
    }

    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'cairn-skopeo-auth-'));
      await writeFile(join(work, 'auth.json'), '{"auths":{}}');
      const files = await authFiles({ builder: PASSWORD }, RULES);
      dir = files.dir;
      d = await startDaemon({ logger: log.logger, serve: { auth: mode, htpasswd: files.htpasswd, rules: files.rules } });
      img = await realImage({ 'etc/motd': `auth ${mode}\n` });
      await writeOciLayout(join(work, 'src'), [{ image: img, tag: '1' }]);
    });
    after(async () => {
      await d?.close();
      if (work) await rm(work, { recursive: true, force: true });
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test('push with --dest-creds, then pull back the same bytes with --src-creds', async () => {
      const digestFile = join(work, 'digest');
      await skopeo('copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `builder:${PASSWORD}`, '--digestfile', digestFile,
        `oci:${join(work, 'src')}:1`, `docker://${d.host}/ci/app:1`);
      assert.equal((await readFile(digestFile, 'utf8')).trim(), img.digest);
      await skopeo('copy', '--quiet', '--src-tls-verify=false', '--src-creds', `builder:${PASSWORD}`, `docker://${d.host}/ci/app:1`, `oci:${join(work, 'out')}:1`);
      const index = JSON.parse(await readFile(join(work, 'out', 'index.json'), 'utf8'));
      assert.equal(index.manifests[0].digest, img.digest);
      const inspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--creds', `builder:${PASSWORD}`, `docker://${d.host}/ci/app:1`));
      assert.equal(inspect.Digest, img.digest);
    });

    test('without credentials, or with a wrong password, skopeo is refused', async () => {
      await assert.rejects(skopeo('inspect', '--tls-verify=false', `docker://${d.host}/ci/app:1`), /401|unauthorized|authentication required/i);
      await assert.rejects(
        skopeo('inspect', '--tls-verify=false', '--creds', 'builder:wrong', `docker://${d.host}/ci/app:1`),
        /401|unauthorized|authentication required|invalid username\/password/i,
      );
    });

    test('a user may push only where the rules say', async () => {
      await assert.rejects(
        skopeo('copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `builder:${PASSWORD}`, `oci:${join(work, 'src')}:1`, `docker://${d.host}/prod/app:1`),
        /denied|unauthorized|401|403/i,
      );
    });

    test('the log holds no password, no Basic credentials and no token', () => {
      const text = log.text();
      assert.ok(text.includes('"path":"/v2/ci/app/manifests/1"'), 'the requests were logged');
      assert.ok(!text.includes(PASSWORD), 'no password');
      assert.ok(!text.includes(Buffer.from(`builder:${PASSWORD}`).toString('base64')), 'no Basic header');
      assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(text), 'no JWT');
      assert.ok(!/Bearer|Basic /i.test(text.replace(/"(Bearer|Basic) realm/g, '')), 'no Authorization value');
      if (mode === 'token') assert.ok(text.includes('token issued'), 'token grants are logged (without the token)');
    });
  });
}
