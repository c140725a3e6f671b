// _catalog and tags/list: sorted in byte order, paged with n/last and Link.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from './helpers/client.js';
import { daemonForFile } from './helpers/daemon.js';
import { image } from './helpers/images.js';

const d = daemonForFile();
const c = new Client(d);

test('GET /v2/ answers 200 with the API version', async () => {
  const r = await c.req('GET', '/v2/');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.deepEqual(r.json, {});
});

test('_catalog lists repositories, nested ones too, sorted and paged', async () => {
  const names = ['zeta', 'alpha/one', 'alpha', 'alpha/one/deep', 'b-c', 'b.c', 'b_c'];
  const m = image();
  for (const name of names) await c.pushImage(name, m, 'v1');
  await c.req('POST', '/v2/only-an-upload/blobs/uploads/');
  const sorted = [...names].sort();
  const all = await c.req('GET', '/v2/_catalog');
  assert.equal(all.status, 200);
  assert.deepEqual(all.json.repositories, sorted, 'a repository with only an upload is not listed');
  assert.equal(all.headers.get('link'), null);

  const seen: string[] = [];
  let path: string | null = '/v2/_catalog?n=3';
  for (let pages = 0; path && pages < 10; pages++) {
    const r = await c.req('GET', path);
    assert.ok(r.json.repositories.length <= 3);
    seen.push(...r.json.repositories);
    path = /<([^>]+)>; rel="next"/.exec(r.headers.get('link') ?? '')?.[1] ?? null;
  }
  assert.deepEqual(seen, sorted);

  const after_ = await c.req('GET', '/v2/_catalog?last=b-c');
  assert.deepEqual(after_.json.repositories, sorted.filter((n) => n > 'b-c'));
  assert.deepEqual((await c.req('GET', '/v2/_catalog?n=0')).json.repositories, []);
});

test('tags/list is sorted in byte order and paged', async () => {
  const tags = ['v10', 'v2', 'latest', 'A', 'list', '_x', 'v1.0'];
  const m = image();
  for (const tag of tags) await c.pushImage('listing/tags', m, tag);
  const sorted = [...tags].sort();
  const r = await c.req('GET', '/v2/listing/tags/tags/list');
  assert.deepEqual(r.json, { name: 'listing/tags', tags: sorted });

  const p1 = await c.req('GET', '/v2/listing/tags/tags/list?n=2');
  assert.deepEqual(p1.json.tags, sorted.slice(0, 2));
  assert.equal(p1.headers.get('link'), `</v2/listing/tags/tags/list?n=2&last=${sorted[1]}>; rel="next"`);
  const p2 = await c.req('GET', `/v2/listing/tags/tags/list?n=10&last=${sorted[1]}`);
  assert.deepEqual(p2.json.tags, sorted.slice(2));
  assert.equal(p2.headers.get('link'), null);
});

test('tags/list of an unknown repository is NAME_UNKNOWN', async () => {
  const r = await c.req('GET', '/v2/listing/none/tags/list');
  assert.equal(r.status, 404);
  assert.equal(r.json.errors[0].code, 'NAME_UNKNOWN');
});

test('a bad n is refused', async () => {
  const r = await c.req('GET', '/v2/_catalog?n=-1');
  assert.equal(r.status, 400);
});
