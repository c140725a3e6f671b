// Routing edge cases as a table: repository names that
// contain route words, trailing slashes, encoded separators and dot segments,
// grammar limits, unknown endpoints and wrong methods. Each row is one request sent
// byte-exact; rows run in order, and later rows read what earlier rows pushed.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type TestDaemon } from './helpers/daemon.js';
import { Client } from './helpers/client.js';
import { blob, image, type Built } from './helpers/images.js';
import { assertOciError, rawRequest, type RawReply } from './helpers/raw.js';
import { snapshot } from './helpers/tree.js';

// Built at load time so the table can name their digests.
const amb1 = image({ layers: ['amb layer 1'] }); // a/manifests/b, tag t1
const amb2 = image({ layers: ['amb layer 2'] }); // a/manifests/b, by digest only
const ab = image({ layers: ['a/b layer'] }); // a/b, tag t
const xtl = image({ layers: ['x/tags/list layer'] }); // x/tags/list, tag 1
const r1 = image({ layers: ['r layer'] }); // r, tags list and manifests
const am = image({ layers: ['a:manifests layer'] }); // repository a, tag manifests (pushed last)
const upBlob = blob('a blob uploaded into x/blobs/uploads');
const hex = (d: string) => d.slice('sha256:'.length);

/** Valid names (grammar-wise) of 255 and 256 characters, in '/'-separated components. */
const name255 = Array(4).fill('n'.repeat(63)).join('/');
const name256 = [...Array(3).fill('n'.repeat(63)), 'n'.repeat(64)].join('/');

interface Row {
  title: string;
  method: string;
  /** Sent byte-exact; a function for paths that depend on earlier rows. */
  path: string | (() => string);
  body?: Buffer | string;
  headers?: Record<string, string>;
  status: number;
  /** For errors: the accepted OCI code(s). */
  code?: string | string[];
  /** The tree must be byte-for-byte what it was. */
  unchanged?: boolean;
  /** Runs before the request (e.g. pushes the blobs a PUT row needs). */
  setup?: () => Promise<void>;
  check?: (r: RawReply) => void | Promise<void>;
}

const state: { xbuUpload?: string } = {};
let d: TestDaemon;

const putBody = (m: Built) => ({ body: m.body, headers: { 'Content-Type': m.mediaType } });
const locationIs = (expected: string) => (r: RawReply) => assert.equal(r.headers.location, expected);
const bodyIs = (m: Built) => (r: RawReply) => {
  assert.equal(r.headers['docker-content-digest'], m.digest);
  assert.equal(r.headers['content-type'], m.mediaType);
  assert.ok(r.body.equals(m.body), 'manifest bytes as pushed');
};
const allowHas = (...methods: string[]) => (r: RawReply) => {
  const allow = String(r.headers.allow ?? '').split(',').map((s) => s.trim());
  for (const m of methods) assert.ok(allow.includes(m), `Allow (${r.headers.allow}) lists ${m}`);
};

const rows: Row[] = [
  // --- a repository named a/manifests/b ---
  {
    title: 'PUT by tag into repository a/manifests/b',
    method: 'PUT', path: '/v2/a/manifests/b/manifests/t1', ...putBody(amb1), status: 201,
    check: async (r) => {
      locationIs(`/v2/a/manifests/b/manifests/${amb1.digest}`)(r);
      assert.equal(r.headers['docker-content-digest'], amb1.digest);
      assert.ok(existsSync(join(d.root, 'repositories/a/manifests/b/_revisions/sha256', hex(amb1.digest))));
      assert.ok(existsSync(join(d.root, 'repositories/a/manifests/b/_tags/t1/current')));
      assert.ok(!existsSync(join(d.root, 'repositories/a/_tags')), 'repository a gets no tag b');
    },
  },
  {
    title: 'PUT by digest into repository a/manifests/b',
    method: 'PUT', path: `/v2/a/manifests/b/manifests/${amb2.digest}`, ...putBody(amb2), status: 201,
    check: locationIs(`/v2/a/manifests/b/manifests/${amb2.digest}`),
  },
  { title: 'GET a/manifests/b by tag', method: 'GET', path: '/v2/a/manifests/b/manifests/t1', status: 200, check: bodyIs(amb1) },
  { title: 'GET a/manifests/b by digest', method: 'GET', path: `/v2/a/manifests/b/manifests/${amb2.digest}`, status: 200, check: bodyIs(amb2) },
  { title: 'GET a/manifests/b by tag/digest in history', method: 'GET', path: `/v2/a/manifests/b/manifests/t1/${amb1.digest}`, status: 200, check: bodyIs(amb1) },
  {
    title: 'HEAD a/manifests/b by tag/digest in history',
    method: 'HEAD', path: `/v2/a/manifests/b/manifests/t1/${amb1.digest}`, status: 200,
    check: (r) => assert.equal(r.headers['docker-content-digest'], amb1.digest),
  },
  { title: 'GET a/manifests/b by tag/digest not in history', method: 'GET', path: `/v2/a/manifests/b/manifests/t1/${amb2.digest}`, status: 404, code: 'MANIFEST_UNKNOWN' },
  {
    title: 'GET a blob of a/manifests/b (the blob route, not the manifest route)',
    method: 'GET', path: `/v2/a/manifests/b/blobs/${amb1.blobs[1]!.digest}`, status: 200,
    check: (r) => assert.ok(r.body.equals(amb1.blobs[1]!.data)),
  },
  {
    title: 'GET a/manifests/b/tags/list',
    method: 'GET', path: '/v2/a/manifests/b/tags/list', status: 200,
    check: (r) => assert.deepEqual(r.json, { name: 'a/manifests/b', tags: ['t1'] }),
  },
  {
    title: 'GET the tag history of a/manifests/b',
    method: 'GET', path: '/v2/a/manifests/b/_oci/tag-history/t1', status: 200,
    check: (r) => assert.deepEqual(r.json.manifests.map((m: { digest: string }) => m.digest), [amb1.digest]),
  },
  { title: 'GET /v2/a/manifests/b is tag b of repository a, which does not exist', method: 'GET', path: '/v2/a/manifests/b', status: 404, code: ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN'] },
  { title: 'GET /v2/a/tags/list: a is a folder on disk, not a repository', method: 'GET', path: '/v2/a/tags/list', status: 404, code: 'NAME_UNKNOWN' },
  {
    title: 'PUT on a blob URL of a/manifests/b is a wrong method, not a manifest PUT',
    method: 'PUT', path: `/v2/a/manifests/b/blobs/${amb1.blobs[1]!.digest}`, body: 'x', status: 405, code: 'UNSUPPORTED', unchanged: true,
    check: allowHas('GET', 'DELETE'),
  },

  // --- a repository named x/tags/list ---
  { title: 'PUT by tag into repository x/tags/list', method: 'PUT', path: '/v2/x/tags/list/manifests/1', ...putBody(xtl), status: 201, check: locationIs(`/v2/x/tags/list/manifests/${xtl.digest}`) },
  {
    title: 'GET x/tags/list/tags/list lists the tags of x/tags/list',
    method: 'GET', path: '/v2/x/tags/list/tags/list', status: 200,
    check: (r) => assert.deepEqual(r.json, { name: 'x/tags/list', tags: ['1'] }),
  },
  { title: 'GET x/tags/list by tag', method: 'GET', path: '/v2/x/tags/list/manifests/1', status: 200, check: bodyIs(xtl) },
  { title: 'GET tags/list of a repository that was never pushed', method: 'GET', path: '/v2/nosuch/tags/list', status: 404, code: 'NAME_UNKNOWN' },
  { title: 'GET /v2/x/tags/list: x is no repository', method: 'GET', path: '/v2/x/tags/list', status: 404, code: 'NAME_UNKNOWN' },

  // --- a repository named x/blobs/uploads ---
  {
    title: 'POST starts an upload in repository x/blobs/uploads',
    method: 'POST', path: '/v2/x/blobs/uploads/blobs/uploads/', status: 202,
    check: (r) => {
      const loc = String(r.headers.location);
      const m = /^\/v2\/x\/blobs\/uploads\/blobs\/uploads\/([0-9a-f-]{36})$/.exec(loc);
      assert.ok(m, `upload Location ${loc} is inside x/blobs/uploads`);
      assert.ok(!existsSync(join(d.root, 'repositories/x/blobs/uploads/_uploads')), 'a POST writes no upload folder');
      state.xbuUpload = loc;
    },
  },
  {
    title: 'GET the status of that upload',
    method: 'GET', path: () => state.xbuUpload!, status: 204,
    check: (r) => assert.equal(r.headers.location, state.xbuUpload),
  },
  {
    title: 'PUT completes that upload',
    method: 'PUT', path: () => `${state.xbuUpload}?digest=${upBlob.digest}`, body: upBlob.data,
    headers: { 'Content-Type': 'application/octet-stream' }, status: 201,
    check: locationIs(`/v2/x/blobs/uploads/blobs/${upBlob.digest}`),
  },
  {
    title: 'GET the blob from x/blobs/uploads',
    method: 'GET', path: `/v2/x/blobs/uploads/blobs/${upBlob.digest}`, status: 200,
    check: (r) => {
      assert.ok(r.body.equals(upBlob.data));
      assert.equal(r.headers['docker-content-digest'], upBlob.digest);
    },
  },
  { title: 'HEAD the blob from x/blobs/uploads', method: 'HEAD', path: `/v2/x/blobs/uploads/blobs/${upBlob.digest}`, status: 200, check: (r) => assert.equal(r.headers['content-length'], String(upBlob.size)) },
  { title: 'the blob is not in repository x', method: 'GET', path: `/v2/x/blobs/${upBlob.digest}`, status: 404, code: 'BLOB_UNKNOWN' },
  {
    title: 'POST /v2/x/blobs/uploads/ starts an upload in repository x',
    method: 'POST', path: '/v2/x/blobs/uploads/', status: 202,
    check: (r) => assert.match(String(r.headers.location), /^\/v2\/x\/blobs\/uploads\/[0-9a-f-]{36}$/),
  },

  // --- tags named like route words ---
  { title: 'PUT tag "list"', method: 'PUT', path: '/v2/r/manifests/list', ...putBody(r1), status: 201, check: locationIs(`/v2/r/manifests/${r1.digest}`) },
  { title: 'GET tag "list"', method: 'GET', path: '/v2/r/manifests/list', status: 200, check: bodyIs(r1) },
  { title: 'PUT tag "manifests"', method: 'PUT', path: '/v2/r/manifests/manifests', ...putBody(r1), status: 201, check: locationIs(`/v2/r/manifests/${r1.digest}`) },
  { title: 'GET tag "manifests"', method: 'GET', path: '/v2/r/manifests/manifests', status: 200, check: bodyIs(r1) },
  { title: 'GET tag "manifests" by tag/digest', method: 'GET', path: `/v2/r/manifests/manifests/${r1.digest}`, status: 200, check: bodyIs(r1) },
  { title: 'GET tag "list" by tag/digest', method: 'GET', path: `/v2/r/manifests/list/${r1.digest}`, status: 200, check: bodyIs(r1) },
  {
    title: 'tags/list holds "list" and "manifests"',
    method: 'GET', path: '/v2/r/tags/list', status: 200,
    check: (r) => assert.deepEqual(r.json, { name: 'r', tags: ['list', 'manifests'] }),
  },
  {
    title: 'tag history of tag "list"',
    method: 'GET', path: '/v2/r/_oci/tag-history/list', status: 200,
    check: (r) => assert.deepEqual(r.json.manifests.map((m: { digest: string }) => m.digest), [r1.digest]),
  },

  // --- trailing slashes ---
  { title: 'GET /v2', method: 'GET', path: '/v2', status: 200, check: (r) => assert.deepEqual(r.json, {}) },
  { title: 'GET /v2/', method: 'GET', path: '/v2/', status: 200, check: (r) => assert.deepEqual(r.json, {}) },
  { title: 'POST blobs/uploads without a trailing slash', method: 'POST', path: '/v2/r/blobs/uploads', status: 202, check: (r) => assert.match(String(r.headers.location), /^\/v2\/r\/blobs\/uploads\/[0-9a-f-]{36}$/) },
  { title: 'POST blobs/uploads/ with a trailing slash', method: 'POST', path: '/v2/r/blobs/uploads/', status: 202, check: (r) => assert.match(String(r.headers.location), /^\/v2\/r\/blobs\/uploads\/[0-9a-f-]{36}$/) },
  { title: 'GET tags/list/ with a trailing slash', method: 'GET', path: '/v2/r/tags/list/', status: 200, check: (r) => assert.deepEqual(r.json, { name: 'r', tags: ['list', 'manifests'] }) },
  {
    title: 'GET _catalog lists the tricky names and not their parent folders',
    method: 'GET', path: '/v2/_catalog', status: 200,
    check: (r) => {
      // x/blobs/uploads holds a blob but no manifest: like CNCF Distribution, it need not be listed.
      const listed: string[] = r.json.repositories;
      for (const name of ['a/b', 'a/manifests/b', 'r', 'x/tags/list']) assert.ok(listed.includes(name), `${name} is listed`);
      for (const folder of ['a', 'a/manifests', 'x', 'x/tags']) assert.ok(!listed.includes(folder), `${folder} is not listed`);
      assert.deepEqual(listed, [...listed].sort(), 'sorted');
    },
  },

  // --- %2F in a name never addresses a/b ---
  { title: 'GET manifest of a%2Fb', method: 'GET', path: '/v2/a%2Fb/manifests/t', status: 400, code: 'NAME_INVALID' },
  { title: 'GET manifest of a%2fb (lowercase)', method: 'GET', path: '/v2/a%2fb/manifests/t', status: 400, code: 'NAME_INVALID' },
  { title: 'GET tags/list of a%2Fb', method: 'GET', path: '/v2/a%2Fb/tags/list', status: 400, code: 'NAME_INVALID' },
  { title: 'GET blob of a%2Fb', method: 'GET', path: `/v2/a%2Fb/blobs/${ab.blobs[0]!.digest}`, status: 400, code: 'NAME_INVALID' },
  { title: 'POST upload into a%2Fb', method: 'POST', path: '/v2/a%2Fb/blobs/uploads/', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'PUT manifest into a%2Fb', method: 'PUT', path: '/v2/a%2Fb/manifests/t2', ...putBody(ab), status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'DELETE tag of a%2Fb', method: 'DELETE', path: '/v2/a%2Fb/manifests/t', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'a/b itself still answers', method: 'GET', path: '/v2/a/b/manifests/t', status: 200, check: bodyIs(ab) },

  // --- dot segments, plain and encoded: refused, nothing written anywhere ---
  { title: 'GET tags/list through ..', method: 'GET', path: '/v2/a/../a/b/tags/list', status: 400, code: 'NAME_INVALID' },
  { title: 'GET manifest through ..', method: 'GET', path: '/v2/x/../a/b/manifests/t', status: 400, code: 'NAME_INVALID' },
  { title: 'GET manifest through %2e%2e', method: 'GET', path: '/v2/x/%2e%2e/a/b/manifests/t', status: 400, code: 'NAME_INVALID' },
  { title: 'POST upload to ../evil', method: 'POST', path: '/v2/../evil/blobs/uploads/', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'POST upload to a/../../evil', method: 'POST', path: '/v2/a/../../evil/blobs/uploads/', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'POST upload to %2e%2e/%2e%2e/evil', method: 'POST', path: '/v2/a/%2e%2e/%2e%2e/evil/blobs/uploads/', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'POST upload to %2E%2E (uppercase escapes)', method: 'POST', path: '/v2/%2E%2E/evil/blobs/uploads/', status: 400, code: 'NAME_INVALID', unchanged: true },
  {
    title: 'POST monolithic blob to ../evil',
    method: 'POST', path: `/v2/../evil/blobs/uploads/?digest=${upBlob.digest}`, body: upBlob.data, status: 400, code: 'NAME_INVALID', unchanged: true,
  },
  { title: 'PUT manifest to a/b/../../evil', method: 'PUT', path: '/v2/a/b/../../evil/manifests/t', ...putBody(ab), status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'PUT manifest to %2e%2e', method: 'PUT', path: '/v2/%2e%2e/manifests/t', ...putBody(ab), status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'DELETE tag through ..', method: 'DELETE', path: '/v2/x/../a/b/manifests/t', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'DELETE blob through %2e%2e', method: 'DELETE', path: `/v2/x/%2e%2e/a/b/blobs/${ab.blobs[0]!.digest}`, status: 400, code: 'NAME_INVALID', unchanged: true },

  // --- name grammar ---
  { title: 'uppercase name on GET', method: 'GET', path: '/v2/Demo/app/tags/list', status: 400, code: 'NAME_INVALID' },
  { title: 'uppercase name on POST upload', method: 'POST', path: '/v2/demo/App/blobs/uploads/', status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'uppercase name on PUT manifest', method: 'PUT', path: '/v2/A/b/manifests/t', ...putBody(ab), status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'a name of 255 characters is accepted', method: 'POST', path: `/v2/${name255}/blobs/uploads/`, status: 202 },
  { title: 'a name of 256 characters is refused', method: 'POST', path: `/v2/${name256}/blobs/uploads/`, status: 400, code: 'NAME_INVALID', unchanged: true },
  { title: 'a name of 256 characters on GET manifest', method: 'GET', path: `/v2/${name256}/manifests/t`, status: 400, code: 'NAME_INVALID' },

  // --- unknown endpoints and wrong methods ---
  { title: 'unknown endpoint under /v2/<name>', method: 'GET', path: '/v2/r/nothing-here', status: 404, code: ['NOT_FOUND', 'NAME_UNKNOWN', 'UNSUPPORTED'] },
  { title: 'unknown endpoint outside /v2', method: 'GET', path: '/nothing', status: 404, code: ['NOT_FOUND', 'UNSUPPORTED'] },
  { title: 'unknown endpoint /v3/', method: 'GET', path: '/v3/', status: 404, code: ['NOT_FOUND', 'UNSUPPORTED'] },
  { title: 'POST /v2/', method: 'POST', path: '/v2/', status: 405, code: 'UNSUPPORTED', check: allowHas('GET') },
  { title: 'DELETE tags/list', method: 'DELETE', path: '/v2/r/tags/list', status: 405, code: 'UNSUPPORTED', unchanged: true, check: allowHas('GET') },
  { title: 'PATCH a manifest', method: 'PATCH', path: '/v2/r/manifests/list', body: 'x', status: 405, code: 'UNSUPPORTED', unchanged: true, check: allowHas('GET', 'PUT', 'DELETE') },
  { title: 'POST a blob URL', method: 'POST', path: `/v2/r/blobs/${r1.blobs[0]!.digest}`, status: 405, code: 'UNSUPPORTED', unchanged: true, check: allowHas('GET', 'DELETE') },
  { title: 'GET on the upload-start URL', method: 'GET', path: '/v2/r/blobs/uploads/', status: 405, code: 'UNSUPPORTED', check: allowHas('POST') },
  { title: 'DELETE on the upload-start URL', method: 'DELETE', path: '/v2/r/blobs/uploads/', status: 405, code: 'UNSUPPORTED', unchanged: true, check: allowHas('POST') },
  { title: 'HEAD /v2/', method: 'HEAD', path: '/v2/', status: 200 },
  { title: 'GET /v2/_catalog/ with a trailing slash', method: 'GET', path: '/v2/_catalog/', status: 200, check: (r) => assert.ok(Array.isArray(r.json.repositories)) },
  { title: 'PUT _catalog', method: 'PUT', path: '/v2/_catalog', body: '{}', status: 405, code: 'UNSUPPORTED', unchanged: true, check: allowHas('GET') },

  // --- a digest whose ':' is percent-encoded ---
  {
    title: 'GET blob with %3A in the digest',
    method: 'GET', path: `/v2/r/blobs/sha256%3A${hex(r1.blobs[1]!.digest)}`, status: 200,
    check: (r) => assert.ok(r.body.equals(r1.blobs[1]!.data)),
  },
  { title: 'GET manifest with %3A in the digest', method: 'GET', path: `/v2/r/manifests/sha256%3A${hex(r1.digest)}`, status: 200, check: bodyIs(r1) },
  { title: 'GET manifest with %3a in the digest', method: 'GET', path: `/v2/r/manifests/sha256%3a${hex(r1.digest)}`, status: 200, check: bodyIs(r1) },
  { title: 'HEAD tag/digest with %3A in the digest', method: 'HEAD', path: `/v2/r/manifests/list/sha256%3A${hex(r1.digest)}`, status: 200, check: (r) => assert.equal(r.headers['docker-content-digest'], r1.digest) },
  // Last, because it makes "a" a repository: tag "manifests" of a, while a/manifests/b keeps a folder a/manifests.
  {
    title: 'PUT tag "manifests" into repository a',
    setup: async () => {
      for (const b of am.blobs) await new Client(d.url).pushBlob('a', b);
    },
    method: 'PUT', path: '/v2/a/manifests/manifests', ...putBody(am), status: 201, check: locationIs(`/v2/a/manifests/${am.digest}`),
  },
  {
    title: 'GET a:manifests by tag/digest (a/manifests is only a folder, not a repository)',
    method: 'GET', path: `/v2/a/manifests/manifests/${am.digest}`, status: 200, check: bodyIs(am),
  },
  { title: 'GET unknown blob with %3A in the digest', method: 'GET', path: `/v2/r/blobs/sha256%3A${'0'.repeat(64)}`, status: 404, code: 'BLOB_UNKNOWN' },
];

describe('routing edge cases', () => {
  before(async () => {
    d = await startDaemon();
    const c = new Client(d.url);
    // Blobs only: the manifests go in through the table's own PUT rows.
    for (const [name, m] of [['a/manifests/b', amb1], ['a/manifests/b', amb2], ['x/tags/list', xtl], ['r', r1]] as const) {
      for (const b of m.blobs) await c.pushBlob(name, b);
    }
    await c.pushImage('a/b', ab, 't');
  });
  after(async () => {
    await d?.close();
  });

  for (const row of rows) {
    test(`${row.method} ${typeof row.path === 'string' ? row.path.slice(0, 90) : '(from an earlier row)'} — ${row.title}`, async () => {
      const path = typeof row.path === 'function' ? row.path() : row.path;
      await row.setup?.();
      const before = row.unchanged ? await snapshot(d.root) : undefined;
      const r = await rawRequest(d.url, row.method, path, { body: row.body, headers: row.headers });

      assert.equal(r.headers['docker-distribution-api-version'], 'registry/2.0', 'API version header on every response');
      if (row.code !== undefined) {
        assertOciError(r, row.status, row.code);
        assert.match(String(r.headers['content-type']), /json/, 'errors are JSON');
      } else {
        assert.equal(r.status, row.status, `status (body: ${r.body.toString('utf8').slice(0, 300)})`);
      }
      await row.check?.(r);
      if (before) {
        assert.deepEqual(await snapshot(d.root), before, 'the tree is byte-for-byte unchanged');
        for (const outside of [join(d.root, 'evil'), join(dirname(d.root), 'evil'), join(d.root, 'repositories', 'evil')]) {
          assert.ok(!existsSync(outside), `${outside} was not created`);
        }
      }
    });
  }
});
