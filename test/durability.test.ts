// What a power loss keeps (shared/durability.ts): which filesystems get one fsync
// per write and which get every folder; and, with the real daemon under strace,
// that no 201 goes out before every name its request made is durable.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Mount, detectDurability, durabilityOf, mountOf } from '../shared/durability.js';
import { spawnDaemon } from './helpers/cli.js';
import { Client } from './helpers/client.js';
import { artifact, image, sha256 } from './helpers/images.js';

const MOUNTINFO = [
  '22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard',
  '30 22 0:26 / /tmp rw,nosuid shared:5 - tmpfs tmpfs rw,size=1024k',
  '31 22 8:1 / /srv/reg\\040data rw shared:6 - xfs /dev/sdb1 rw,attr2',
  '32 31 0:40 / /srv/reg\\040data/mirror rw - btrfs /dev/sdc rw,space_cache',
  '33 22 8:2 / /srv/reg\\040data rw shared:7 - ext4 /dev/sdd1 rw',
].join('\n');

test('the mount that holds a path: the longest mount point above it, the later of two stacked', () => {
  const at = (p: string) => mountOf(MOUNTINFO, p);
  assert.equal(at('/home/me/data')?.fstype, 'ext4');
  assert.equal(at('/tmp/cairn')?.fstype, 'tmpfs');
  assert.equal(at('/tmpfoo')?.mountPoint, '/', 'a mount point is a whole path segment');
  assert.deepEqual(at('/srv/reg data/root'), { mountPoint: '/srv/reg data', device: '8:2', fstype: 'ext4', source: '/dev/sdd1' });
  assert.equal(at('/srv/reg data/mirror/x')?.fstype, 'btrfs');
});

test('one fsync per write only where a journal orders metadata; new folders follow files on ext4; changes wait but without a journal', () => {
  const mount = (fstype: string): Mount => ({ mountPoint: '/', device: '254:0', fstype, source: '/dev/vda' });
  const model = (fstype: string, journal?: boolean) => {
    const { ordered, newFoldersFollow, changesWait } = durabilityOf(mount(fstype), () => journal);
    return { ordered, newFoldersFollow, changesWait };
  };
  assert.deepEqual(model('xfs'), { ordered: true, newFoldersFollow: true, changesWait: true });
  assert.deepEqual(model('ext4', true), { ordered: true, newFoldersFollow: true, changesWait: true });
  assert.deepEqual(model('ext4', false), { ordered: false, newFoldersFollow: true, changesWait: false });
  assert.deepEqual(model('ext4', undefined), { ordered: false, newFoldersFollow: true, changesWait: true });
  for (const other of ['btrfs', 'overlay', 'nfs4', 'tmpfs', 'zfs']) assert.deepEqual(model(other), { ordered: false, newFoldersFollow: false, changesWait: true }, other);
  assert.match(durabilityOf(mount('ext4'), () => false).filesystem, /ext4 without a journal on \/dev\/vda/);
});

/** What strace saw, in order: names made (create, mkdir, rename's target), names gone, folder fsyncs, responses. */
type Event =
  | { kind: 'made'; path: string; from?: string; folder?: boolean }
  | { kind: 'gone'; path: string }
  | { kind: 'synced'; path: string; folder: boolean }
  | { kind: 'response'; status: number; chunk?: boolean };

/** Parses `strace -f` output; a call split into "unfinished" and "resumed" counts where it resumed. */
function traceEvents(text: string): Event[] {
  const pending = new Map<string, string>();
  const fds = new Map<string, { path: string; folder: boolean }>();
  const events: Event[] = [];
  for (const raw of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    if (rest.endsWith('<unfinished ...>')) {
      pending.set(pid, rest.slice(0, -'<unfinished ...>'.length).trimEnd());
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(rest);
    const call = resumed ? `${pending.get(pid) ?? ''}${resumed[1]}` : rest;
    if (resumed) pending.delete(pid);
    if (/= -1 /.test(call)) continue; // failed calls change nothing
    let c: RegExpExecArray | null;
    if ((c = /^openat\(AT_FDCWD, "([^"]+)", ([^,)]+)[^=]*= (\d+)/.exec(call))) {
      // What is opened to be fsynced read-only is a folder (fsx.fsyncDir); files are opened to write.
      fds.set(c[3]!, { path: c[1]!, folder: !/O_WRONLY|O_RDWR/.test(c[2]!) });
      if (c[2]!.includes('O_CREAT')) events.push({ kind: 'made', path: c[1]! });
      if (c[2]!.includes('O_DSYNC')) events.push({ kind: 'synced', path: c[1]!, folder: false });
    } else if ((c = /^mkdir\("([^"]+)"/.exec(call))) events.push({ kind: 'made', path: c[1]!, folder: true });
    else if ((c = /^rename\("([^"]+)", "([^"]+)"\)/.exec(call))) events.push({ kind: 'made', path: c[2]!, from: c[1]! });
    else if ((c = /^(?:unlink|rmdir)\("([^"]+)"\)/.exec(call))) events.push({ kind: 'gone', path: c[1]! });
    else if ((c = /^f(?:data)?sync\((\d+)\)/.exec(call)) && fds.has(c[1]!)) events.push({ kind: 'synced', ...fds.get(c[1]!)! });
    else if ((c = /^writev?\(\d+, .*?"HTTP\/1\.1 (\d{3})/.exec(call))) {
      // A 202 that reports bytes (Range 0-N, N > 0) acknowledges a chunk; POST's says 0-0.
      events.push({ kind: 'response', status: Number(c[1]), chunk: c[1] === '202' && /Range: 0-[1-9]/.test(call) });
    }
  }
  return events;
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/'));

/**
 * Replays the events: every name made must have its folder fsynced before the next
 * 201 or chunk's 202 (what POST makes, an unsynced upload session, is checked by the
 * PATCH or PUT that follows), and every file renamed into place must have had its
 * data synced.
 * With `newFoldersFollow`, an fsync also makes durable the name of what it synced
 * and of each new folder above, as ext4 without a journal does (ext4_sync_parent
 * walks up while the inode is newly created). Returns what broke the rule, and the
 * fsyncs of folders counted.
 */
function durableBeforeAck(events: Event[], newFoldersFollow = false): { broken: string[]; folderSyncs: number; acks: number } {
  /** `fresh`: created (not renamed in) and not yet walked by an fsync, ext4's NEWENTRY. */
  let names: { path: string; synced: boolean; fresh: boolean }[] = [];
  const syncFolder = (dir: string) => {
    for (const n of names) if (parent(n.path) === dir) n.synced = true;
  };
  // ext4_sync_parent: while the inode is newly created, sync its parent folder and go up.
  const walkUp = (from: string) => {
    for (let n = names.find((x) => x.path === from); n?.fresh; ) {
      n.fresh = false;
      const up = parent(n.path);
      syncFolder(up);
      n = names.find((x) => x.path === up);
    }
  };
  const dataSynced = new Set<string>();
  const files = new Set<string>(); // created as files: their data must be synced before they are renamed into place
  const broken: string[] = [];
  let folderSyncs = 0;
  let acks = 0;
  for (const e of events) {
    if (e.kind === 'made') {
      if (e.from !== undefined) {
        const from = e.from;
        if (files.has(from) && !dataSynced.has(from)) broken.push(`renamed unsynced data ${from} -> ${e.path}`);
        const fresh = names.find((n) => n.path === from)?.fresh ?? false; // the inode keeps its state
        names = names.filter((n) => n.path !== from).map((n) => (n.path.startsWith(`${from}/`) ? { ...n, path: e.path + n.path.slice(from.length) } : n));
        names.push({ path: e.path, synced: false, fresh });
      } else {
        if (!e.folder) files.add(e.path);
        names.push({ path: e.path, synced: false, fresh: true });
      }
    } else if (e.kind === 'gone') {
      names = names.filter((n) => n.path !== e.path);
    } else if (e.kind === 'synced') {
      if (newFoldersFollow) walkUp(e.path);
      if (!e.folder) {
        dataSynced.add(e.path);
        continue;
      }
      folderSyncs++;
      syncFolder(e.path);
    } else if (e.status === 201 || e.chunk) {
      acks++;
      for (const n of names) if (!n.synced) broken.push(`${e.status} #${acks} before the folder of ${n.path} was fsynced`);
      names = [];
    }
  }
  return { broken, folderSyncs, acks };
}

async function tracedPushes(mode: string): Promise<{ events: Event[]; root: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-durable-'));
  const root = join(dir, 'root'); // made by the daemon: its own folders are checked too
  const trace = join(dir, 'trace');
  const calls = 'openat,mkdir,rename,unlink,rmdir,fsync,fdatasync,write,writev';
  // -s 512: a response's headers whole, to tell a chunk's 202 (its Range) from POST's.
  const d = await spawnDaemon(root, ['--fsync', mode], { wrap: ['strace', '-f', '-qq', '-s', '512', '-e', `trace=${calls}`, '-o', trace] });
  try {
    const c = new Client(d);
    const first = image();
    assert.equal((await c.pushImage('dur/app', first, 'v1')).status, 201); // new repository, revision, tag
    assert.equal((await c.putManifest('dur/app', 'v2', first)).status, 201); // a second tag on it
    const next = image();
    assert.equal((await c.pushImage('dur/app', next, 'v1')).status, 201); // the tag moves: history entry + current
    assert.equal((await c.pushImage('dur/app', artifact('application/x-sig', next))).status, 201); // by digest, with a referrer link
    const layer = next.blobs[1]!;
    const mount = await c.req('POST', `/v2/dur/other/blobs/uploads/?mount=${layer.digest}&from=dur/app`);
    assert.equal(mount.status, 201); // a mount: the layer link in a new repository
    // A chunked upload into a third new repository: its first chunk's 202 is an acknowledgement too.
    const chunked = Buffer.from(`chunked ${Math.random()} `.repeat(64));
    const start = await c.req('POST', '/v2/dur/chunks/blobs/uploads/');
    assert.equal(start.status, 202);
    const at = start.headers.get('location')!;
    const half = chunked.length >> 1;
    const patch = await c.req('PATCH', at, { body: chunked.subarray(0, half), headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `0-${half - 1}` } });
    assert.equal(patch.status, 202);
    const rest = patch.headers.get('location')!;
    const done = await c.req('PUT', `${rest}${rest.includes('?') ? '&' : '?'}digest=${sha256(chunked)}`, { body: chunked.subarray(half), headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(done.status, 201);
  } finally {
    await d.stop();
  }
  const events = traceEvents(await readFile(trace, 'utf8'));
  await rm(dir, { recursive: true, force: true });
  return { events, root };
}

test('--fsync every-folder: no 201, nor a chunk\'s 202, before every name its request made is durable, data first', async () => {
  const { events } = await tracedPushes('every-folder');
  const { broken, acks } = durableBeforeAck(events);
  assert.ok(acks >= 10, `saw ${acks} responses with 201`);
  assert.deepEqual(broken, []);
});

test('--fsync journal: data still synced before its rename, with fewer folder fsyncs than every-folder', async () => {
  const journal = durableBeforeAck((await tracedPushes('journal')).events);
  const every = durableBeforeAck((await tracedPushes('every-folder')).events);
  assert.equal(journal.acks, every.acks);
  assert.deepEqual(journal.broken.filter((b) => b.startsWith('renamed unsynced data')), []);
  assert.ok(journal.folderSyncs < every.folderSyncs, `journal ${journal.folderSyncs} folder fsyncs, every-folder ${every.folderSyncs}`);
  assert.ok(journal.broken.length > 0, 'one fsync per write leaves folders to the journal');
});

// What auto finds is pinned by the table test above; this one checks the daemon keeps to it.
test('--fsync auto keeps the rule of the filesystem it finds under the root', async () => {
  const found = detectDurability(tmpdir());
  const { broken } = durableBeforeAck((await tracedPushes('auto')).events, found.newFoldersFollow);
  if (found.ordered) assert.deepEqual(broken.filter((b) => b.startsWith('renamed unsynced data')), [], found.filesystem);
  else assert.deepEqual(broken, [], found.filesystem);
});

test('strace is there (the durability tests read its trace)', () => {
  assert.match(execFileSync('strace', ['-V'], { encoding: 'utf8' }), /strace/);
});
