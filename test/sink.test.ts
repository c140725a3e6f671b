// The upload sink over real files: every byte lands where it belongs whatever the
// chunk sizes and the start offset, whole blocks of big uploads go O_DIRECT where the
// filesystem allows it, and everything else (an upload's first stage's worth, small
// uploads, and every upload where O_DIRECT is refused or no stage is free) goes
// through the page cache.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { HashingFileSink } from '../store/sink.js';
import { STAGE, stagesInUse } from '../store/stages.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function folder(): string {
  const d = mkdtempSync(join(tmpdir(), 'cairn-sink-'));
  dirs.push(d);
  return d;
}

/** Whether `dir`'s filesystem takes O_DIRECT (tmpfs before Linux 6.6 did not). */
function directWorks(dir: string): boolean {
  const probe = join(dir, 'probe');
  writeFileSync(probe, '');
  try {
    closeSync(openSync(probe, constants.O_WRONLY | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
}

/** `data` cut into chunks of the given sizes, cycled. */
function chunks(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}

let files = 0;

/** Writes `data` after `existing` bytes already in the file, through the sink, in `sizes` chunks. */
async function sinkInto(dir: string, existing: Buffer, data: Buffer, sizes: number[]) {
  const file = join(dir, `data-${files++}`);
  writeFileSync(file, existing);
  const hash = createHash('sha256').update(existing);
  const sink = new HashingFileSink(file, 'r+', existing.length, hash);
  await pipeline(Readable.from(chunks(data, sizes)), sink);
  await sink.whenClosed(); // the stage goes back as the sink closes
  return { file, sink };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('HashingFileSink', () => {
  const dir = folder();
  const direct = directWorks(dir);

  const cases: [string, number, number, number[]][] = [
    // name, bytes already in the file, bytes written, chunk sizes
    ['empty', 0, 0, [1]],
    ['a few bytes', 0, 10, [3]],
    ['one block', 0, 4096, [4096]],
    ['just under a stage', 0, STAGE - 1, [65536]],
    ['one stage', 0, STAGE, [65536]],
    ['a stage and a byte', 0, STAGE + 1, [65536]],
    ['two stages', 0, 2 * STAGE, [65536]],
    ['stages and a tail, odd chunks', 0, 5 * STAGE + 12345, [1, 4095, 70001, 65536]],
    ['appended mid-block', 1000, 5 * STAGE + 777, [65536, 3]],
    ['appended mid-block, odd chunks', 4095 - 10, 5 * STAGE + 5, [4, 4, 65536, 777]],
    ['appended on a block boundary', 8192, 5 * STAGE, [STAGE]],
  ];
  for (const [name, had, n, sizes] of cases) {
    test(`${name}: every byte in place, hash and counts right`, async () => {
      const existing = randomBytes(had);
      const data = randomBytes(n);
      const { file, sink } = await sinkInto(dir, existing, data, sizes);
      const whole = Buffer.concat([existing, data]);
      assert.ok(readFileSync(file).equals(whole), 'file content');
      assert.equal(sink.hash.copy().digest('hex'), sha(whole));
      assert.equal(sink.bytes, n);
      // The first stage's worth goes through the page cache in whole batches (up to
      // two stages' worth, by the sink's high-water mark), then stages fill: O_DIRECT
      // surely past four stages, surely not under two.
      if (direct && n >= 4 * STAGE) assert.ok(sink.directBytes >= STAGE, `${sink.directBytes} bytes O_DIRECT`);
      if (n < 2 * STAGE) assert.equal(sink.directBytes, 0);
      assert.equal(sink.directBytes % 4096, 0, 'O_DIRECT writes whole blocks');
    });
  }

  test('more big uploads at once than stages: all land, and every stage comes back', async () => {
    const uploads = Array.from({ length: 24 }, () => randomBytes(5 * STAGE + 4096 * 3));
    const results = await Promise.all(uploads.map((data) => sinkInto(dir, Buffer.alloc(0), data, [65536])));
    results.forEach(({ file }, i) => assert.ok(readFileSync(file).equals(uploads[i]!), `upload ${i}`));
    if (direct) assert.ok(results.some((r) => r.sink.directBytes > 0));
    assert.ok(results.some((r) => r.sink.directBytes === 0), 'some found no stage free');
    assert.equal(stagesInUse(), 0);
  });

  test('a source that fails midway rejects; the file holds a prefix of what arrived, and the stage comes back', async () => {
    const file = join(dir, 'torn');
    writeFileSync(file, '');
    const sent = randomBytes(5 * STAGE);
    const sink = new HashingFileSink(file, 'r+', 0, createHash('sha256'));
    async function* torn() {
      for (let at = 0; at < sent.length; at += 65536) yield sent.subarray(at, at + 65536);
      throw new Error('client went away');
    }
    await assert.rejects(pipeline(Readable.from(torn()), sink), /client went away/);
    await sink.whenClosed();
    const held = readFileSync(file);
    assert.ok(held.length >= STAGE, `${held.length} bytes held`);
    assert.ok(held.equals(sent.subarray(0, held.length)), 'what the file holds is what arrived, in order');
    assert.equal(stagesInUse(), 0);
  });
});
