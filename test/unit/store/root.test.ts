// Temp files on a root several hosts share: each host removes what its own dead
// processes left, and another host's only once it is certainly abandoned.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hostMark, tempName, tempOwner } from '../../../shared/holder.js';
import { Paths } from '../../../shared/paths.js';
import { FOREIGN_TEMP_MS, prepareRoot } from '../../../store/root.js';

const UUID = '0123abcd-0000-4000-8000-00000000cafe';
const DEAD = 2 ** 22 + 12345; // above the kernel's default pid_max: no process has it

test('a temp name says its host and pid; the older <pid>-<uuid> names are this host’s', () => {
  assert.deepEqual(tempOwner(tempName()), { here: true, pid: process.pid });
  assert.deepEqual(tempOwner(`${DEAD}-${UUID}`), { here: true, pid: DEAD });
  assert.deepEqual(tempOwner(`${hostMark('elsewhere')}-7-${UUID}`), { here: false, pid: 7 });
  assert.equal(tempOwner('not-a-temp'), undefined);
});

test('start-up removes this host’s dead temps, keeps live ones, and another host’s until they are a day old', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cairn-root-'));
  try {
    const tmp = new Paths(root).tmpDir();
    await mkdir(tmp, { recursive: true });
    const names = {
      ownDead: `${hostMark()}-${DEAD}-${UUID}`,
      ownLive: `${hostMark()}-${process.pid}-${UUID}`,
      olderFormatDead: `${DEAD}-${UUID}`,
      foreignFresh: `${hostMark('other-host')}-${DEAD}-${UUID}`,
      foreignOld: `${hostMark('other-host')}-${DEAD + 1}-${UUID}`,
      stray: 'junk',
    };
    for (const n of Object.values(names)) await writeFile(join(tmp, n), 'x');
    const old = new Date(Date.now() - FOREIGN_TEMP_MS - 60_000);
    await utimes(join(tmp, names.foreignOld), old, old);
    const { removedTemps } = await prepareRoot(new Paths(root));
    assert.equal(removedTemps, 4);
    const left = Object.entries(names).filter(([, n]) => existsSync(join(tmp, n))).map(([k]) => k);
    assert.deepEqual(left, ['ownLive', 'foreignFresh']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
