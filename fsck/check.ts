// Checking a storage root: every blob hashed against its name, every link against
// what it names, every tag against its history, every revision against what it
// needs. The result is data (findings, each with the repair that fixes it, if any);
// fsck/main.ts prints it and fsck/repair.ts carries the repairs out.
//
// A revision is *valid* when its manifest blob is present and whole, parses, every
// blob it needs is present and whole, and every index child is a valid revision of
// the same repository. Links are judged against valid revisions and whole blobs, so
// a repaired tree is a fixed point: a second run finds nothing.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { listDir, readOrUndefined, treeStats } from '../shared/fsx.js';
import { type HistoryEntry, type Tree, listBlobsSync, listDigests } from '../shared/tree.js';
import { countedInLog, tagLogText } from '../store/taglog.js';
import { type Manifest, parseManifest } from '../shared/manifest.js';
import { type Digest, digestString, isDigest, parseDigest } from '../shared/reference.js';
import { parseStoredSignature } from '../shared/schema1.js';
import { readTextSyncOrUndefined, statSyncOrUndefined } from '../shared/syncfs.js';

export type FindingKind =
  | 'blob-corrupt'
  | 'blob-truncated'
  | 'stray-file'
  | 'layer-link-dangling'
  | 'revision-manifest-missing'
  | 'revision-unparsable'
  | 'revision-blob-missing'
  | 'revision-blob-unlinked'
  | 'revision-child-missing'
  | 'descriptor-size-mismatch'
  | 'history-entry-dangling'
  | 'tag-current-dangling'
  | 'tag-current-not-in-history'
  | 'tag-log-incomplete'
  | 'referrer-link-dangling'
  | 'referrer-subject-mismatch'
  | 'referrer-link-missing'
  | 'signature-unparsable';

/** What fixes a finding. Paths are absolute; only `quarantine` and `remove` take anything away, and only what is broken. */
export type Repair =
  | { action: 'quarantine'; path: string }
  | { action: 'remove'; path: string }
  | { action: 'create'; path: string; content: string }
  | { action: 'point-tag'; repository: string; tag: string; digest: string }
  | { action: 'remove-tag'; repository: string; tag: string };

export interface Finding {
  kind: FindingKind;
  /** Relative to the root. */
  path: string;
  message: string;
  repository?: string;
  tag?: string;
  digest?: string;
  /** Absent when fsck cannot fix it by itself (the report says what is wrong). */
  repair?: Repair;
}

export interface CheckResult {
  root: string;
  findings: Finding[];
  /** Things worth knowing that are not damage (gc-trash left by a killed gc, a non-empty quarantine). */
  notes: string[];
  counts: { blobs: number; bytes: number; repositories: number; revisions: number; tags: number; signatures: number };
}

export interface CheckHooks {
  /** Called as blobs are hashed (the slow part), for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

interface Parsed {
  digest: Digest;
  mediaType: string;
  manifest?: Manifest;
  problem?: { kind: FindingKind; message: string };
}

export async function checkTree(tree: Tree, hooks: CheckHooks = {}): Promise<CheckResult> {
  const paths = tree.paths;
  const findings: Finding[] = [];
  const add = (f: Omit<Finding, 'path'> & { path: string }) => findings.push({ ...f, path: paths.relative(f.path) });
  const counts = { blobs: 0, bytes: 0, repositories: 0, revisions: 0, tags: 0, signatures: 0 };

  // 1. Blobs: hash every one. `whole` maps digest string → size for blobs whose bytes match their name.
  const whole = new Map<string, number>();
  const corrupt: { digest: Digest; size: number; actual: string }[] = [];
  const blobs = listBlobsSync(tree.paths);
  let done = 0;
  for (const d of blobs) {
    const file = paths.blob(d);
    const hashed = await hashFile(file, d.algorithm).catch(() => undefined);
    hooks.onProgress?.(++done, blobs.length);
    if (!hashed) continue; // gone since it was listed: no longer in the store
    counts.blobs++;
    counts.bytes += hashed.size;
    if (hashed.hex === d.hex) whole.set(digestString(d), hashed.size);
    else corrupt.push({ digest: d, size: hashed.size, actual: `${d.algorithm}:${hashed.hex}` });
  }
  for (const file of await strayBlobFiles(tree)) {
    add({ kind: 'stray-file', path: file, message: 'a file under blobs/ whose path is not a blob name', repair: { action: 'quarantine', path: file } });
  }
  const isWhole = (d: Digest) => whole.has(digestString(d));

  // Sizes that manifests claim for blobs, to tell a truncated blob from a corrupt one.
  const claimed = new Map<string, number>();

  // 2. Repositories.
  const repositories = await tree.listRepositories();
  counts.repositories = repositories.length;
  for (const name of repositories) {
    const revisionDigests = await tree.listRevisions(name);
    counts.revisions += revisionDigests.length;
    const parsed = new Map<string, Parsed>();
    // A pull-through repository fetches blobs and index children when asked: absent is
    // fine there, corrupt never is.
    const onDemand = tree.upstreamOf(name) !== undefined;
    const lacking = (d: Digest) => !isWhole(d) && !(onDemand && corruptOrMissing(corrupt, d) === 'missing');
    for (const digest of revisionDigests) {
      const mediaType = ((await tree.revisionMediaType(name, digest)) ?? '').trim();
      const p: Parsed = { digest, mediaType };
      parsed.set(digestString(digest), p);
      const body = isWhole(digest) ? await readOrUndefined(paths.blob(digest)) : undefined;
      if (!body) {
        p.problem = { kind: 'revision-manifest-missing', message: `its manifest blob ${digestString(digest)} is ${corruptOrMissing(corrupt, digest)}` };
        continue;
      }
      try {
        p.manifest = parseManifest(body, mediaType);
      } catch (err) {
        p.problem = { kind: 'revision-unparsable', message: `its manifest does not parse as ${mediaType || 'a manifest'}: ${(err as Error).message}` };
        continue;
      }
      for (const [digest, size] of descriptorSizes(p.manifest)) claimed.set(digest, Math.max(size, claimed.get(digest) ?? 0));
    }

    // Validity, to a fixed point: an index is valid only once its children are.
    let changed = true;
    while (changed) {
      changed = false;
      for (const p of parsed.values()) {
        if (p.problem || !p.manifest) continue;
        const missing = p.manifest.blobs.filter(lacking);
        if (missing.length) {
          p.problem = { kind: 'revision-blob-missing', message: `needs ${missing.map((b) => `${digestString(b)} (${corruptOrMissing(corrupt, b)})`).join(', ')}` };
          changed = true;
          continue;
        }
        const badChildren = p.manifest.children.filter((c) => parsed.get(digestString(c))?.problem !== undefined || (!parsed.has(digestString(c)) && !onDemand));
        if (badChildren.length) {
          p.problem = { kind: 'revision-child-missing', message: `index child(ren) ${badChildren.map(digestString).join(', ')} not a valid revision of ${name}` };
          changed = true;
        }
      }
    }
    const valid = new Set([...parsed.values()].filter((p) => !p.problem).map((p) => digestString(p.digest)));
    const isValid = (d: Digest) => valid.has(digestString(d));

    for (const p of parsed.values()) {
      const file = paths.revision(name, p.digest);
      const digest = digestString(p.digest);
      if (p.problem) {
        add({ kind: p.problem.kind, path: file, repository: name, digest, message: `revision ${name}@${digest}: ${p.problem.message}; it cannot be pulled whole`, repair: { action: 'remove', path: file } });
      }
    }

    // Layer links: each must name a whole blob; each valid revision's blobs must be linked.
    const layerLinks = new Set((await tree.listLayers(name)).map(digestString));
    for (const l of layerLinks) {
      const d = parseDigest(l);
      if (isWhole(d)) continue;
      const file = paths.layer(name, d);
      add({ kind: 'layer-link-dangling', path: file, repository: name, digest: l, message: `layer link to ${l}, which is ${corruptOrMissing(corrupt, d)}`, repair: { action: 'remove', path: file } });
    }
    for (const p of parsed.values()) {
      if (p.problem || !p.manifest) continue;
      for (const b of new Set(p.manifest.blobs.map(digestString))) {
        if (layerLinks.has(b)) continue;
        const file = paths.layer(name, parseDigest(b));
        layerLinks.add(b); // one finding per missing link, however many revisions need it
        add({ kind: 'revision-blob-unlinked', path: file, repository: name, digest: b, message: `revision ${digestString(p.digest)} needs ${b}, which is stored but not linked in ${name}`, repair: { action: 'create', path: file, content: '' } });
      }
      for (const [b, size] of descriptorSizes(p.manifest)) {
        const actual = whole.get(b);
        if (actual !== undefined && actual !== size) {
          add({ kind: 'descriptor-size-mismatch', path: paths.revision(name, p.digest), repository: name, digest: digestString(p.digest), message: `revision says ${b} is ${size} bytes; the blob is ${actual}` });
        }
      }
    }

    // Tags: history entries name valid revisions; current names a valid revision in the history.
    for (const tag of await tree.listTags(name)) {
      counts.tags++;
      const history = await tree.tagHistory(name, tag);
      const entries = await listDigests(paths.tagIndexDir(name, tag));
      for (const d of entries) {
        if (isValid(d)) continue;
        const file = paths.tagIndexEntry(name, tag, d);
        add({ kind: 'history-entry-dangling', path: file, repository: name, tag, digest: digestString(d), message: `${name}:${tag} history holds ${digestString(d)}, not a valid revision`, repair: { action: 'remove', path: file } });
      }
      const currentFile = paths.tagCurrent(name, tag);
      let restored: HistoryEntry | undefined;
      const text = readTextSyncOrUndefined(currentFile)?.trim();
      const current = text && isDigest(text) ? parseDigest(text) : undefined;
      if (!current || !isValid(current)) {
        const fallback = history.find((e) => isValid(e.digest));
        const repair: Repair = fallback
          ? { action: 'point-tag', repository: name, tag, digest: digestString(fallback.digest) }
          : { action: 'remove-tag', repository: name, tag };
        const what = text === undefined ? 'is missing' : current ? `names ${text}, not a valid revision` : `holds ${JSON.stringify(text.slice(0, 80))}, not a digest`;
        add({ kind: 'tag-current-dangling', path: currentFile, repository: name, tag, message: `${name}:${tag} current ${what}; ${fallback ? `falls back to ${digestString(fallback.digest)}` : 'no valid history entry remains'}`, repair });
      } else if (!entries.some((e) => e.hex === current.hex && e.algorithm === current.algorithm)) {
        const st = statSyncOrUndefined(currentFile);
        const at = new Date(st?.mtimeMs ?? Date.now()).toISOString();
        const file = paths.tagIndexEntry(name, tag, current);
        add({ kind: 'tag-current-not-in-history', path: file, repository: name, tag, digest: text, message: `${name}:${tag} points at ${text}, which its history lacks`, repair: { action: 'create', path: file, content: at } });
        restored = { digest: current, taggedAt: at };
      }
      // The log is an index of the entries (store/taglog.ts): one that lacks some (or
      // the entry a repair above re-creates) is rebuilt from what the history will be.
      const logFile = paths.tagLog(name, tag);
      const counted = countedInLog(logFile, (d) => readTextSyncOrUndefined(paths.tagIndexEntry(name, tag, d)));
      const expected = restored ? [restored, ...history] : history;
      const unlogged = counted ? expected.filter((e) => e === restored || !counted.has(digestString(e.digest))) : [];
      if (unlogged.length) {
        const content = tagLogText(expected);
        add({ kind: 'tag-log-incomplete', path: logFile, repository: name, tag, message: `${name}:${tag} log lacks ${unlogged.length} of ${history.length} history entries (pages of its history read them all until it is rebuilt)`, repair: { action: 'create', path: logFile, content } });
      }
    }

    // Referrers: each link names a valid revision whose subject is that folder's; each valid subject-bearing revision is linked.
    const links = await tree.listReferrerLinks(name);
    const linked = new Set(links.map((l) => `${digestString(l.subject)} ${digestString(l.digest)}`));
    for (const { subject, digest } of links) {
      const file = paths.referrer(name, subject, digest);
      const p = parsed.get(digestString(digest));
      if (!isValid(digest) || !p?.manifest) {
        add({ kind: 'referrer-link-dangling', path: file, repository: name, digest: digestString(digest), message: `referrer link to ${digestString(digest)}, not a valid revision`, repair: { action: 'remove', path: file } });
      } else if (!p.manifest.subject || digestString(p.manifest.subject) !== digestString(subject)) {
        const has = p.manifest.subject ? digestString(p.manifest.subject) : 'none';
        add({ kind: 'referrer-subject-mismatch', path: file, repository: name, digest: digestString(digest), message: `filed under subject ${digestString(subject)}, but its subject is ${has}`, repair: { action: 'remove', path: file } });
      }
    }
    for (const p of parsed.values()) {
      const s = p.manifest?.subject;
      if (p.problem || !s || linked.has(`${digestString(s)} ${digestString(p.digest)}`)) continue;
      const file = paths.referrer(name, s, p.digest);
      add({ kind: 'referrer-link-missing', path: file, repository: name, digest: digestString(p.digest), message: `revision ${digestString(p.digest)} has subject ${digestString(s)} but no referrer link`, repair: { action: 'create', path: file, content: '' } });
    }
  }

  // Blob findings last: now the claimed sizes are known.
  for (const c of corrupt) {
    const file = paths.blob(c.digest);
    const expected = claimed.get(digestString(c.digest));
    const truncated = expected !== undefined && c.size < expected;
    add({
      kind: truncated ? 'blob-truncated' : 'blob-corrupt',
      path: file,
      digest: digestString(c.digest),
      message: truncated ? `${c.size} bytes, a manifest says ${expected}; hashes to ${c.actual}` : `bytes hash to ${c.actual} (${c.size} bytes)`,
      repair: { action: 'quarantine', path: file },
    });
  }

  // 3. Signatures: every file must parse as a stored JWS signature.
  for (const payload of await tree.listSignedPayloads()) {
    for (const e of await listDir(paths.signaturesOf(payload))) {
      const file = join(paths.signaturesOf(payload), e.name);
      counts.signatures++;
      const text = e.isFile() && /^[a-f0-9]{64}$/.test(e.name) ? readTextSyncOrUndefined(file) : undefined;
      if (text !== undefined && parseStoredSignature(text)) continue;
      add({ kind: 'signature-unparsable', path: file, digest: digestString(payload), message: 'not a stored schema1 signature (it is skipped when serving)', repair: { action: 'quarantine', path: file } });
    }
  }

  const notes: string[] = [];
  const trash = await treeStats(paths.gcTrashDir());
  if ((await listDir(paths.gcTrashDir())).length) notes.push(`gc-trash/ holds ${trash.bytes} bytes left by a gc that did not finish; the next gc puts them back`);
  if ((await listDir(paths.quarantineDir())).length) notes.push('quarantine/ holds what an earlier fsck --repair moved aside; inspect and delete it by hand');
  return { root: paths.root, findings, notes, counts };
}

function corruptOrMissing(corrupt: { digest: Digest }[], d: Digest): string {
  return corrupt.some((c) => c.digest.hex === d.hex && c.digest.algorithm === d.algorithm) ? 'corrupt' : 'missing';
}

/** digest string → size, for the config and layers an image manifest describes. */
function descriptorSizes(m: Manifest): [string, number][] {
  if (m.kind !== 'image') return [];
  const out: [string, number][] = [];
  const json = m.json as { config?: { digest: string; size: number }; layers?: { digest: string; size: number; urls?: string[] }[] };
  for (const d of [json.config, ...(json.layers ?? []).filter((l) => !l.urls?.length)]) {
    if (d && typeof d.digest === 'string' && typeof d.size === 'number') out.push([d.digest, d.size]);
  }
  return out;
}

async function hashFile(file: string, algorithm: 'sha256' | 'sha512'): Promise<{ hex: string; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { hex: hash.digest('hex'), size };
}

/** Files under blobs/ that listBlobs() does not count as blobs (a name that is no digest, a wrong prefix folder). */
async function strayBlobFiles(tree: Tree): Promise<string[]> {
  const out: string[] = [];
  const root = tree.paths.blobsDir();
  for (const alg of await listDir(root)) {
    const algDir = join(root, alg.name);
    if (!alg.isDirectory()) {
      out.push(algDir);
      continue;
    }
    for (const prefix of await listDir(algDir)) {
      const prefixDir = join(algDir, prefix.name);
      if (!prefix.isDirectory()) {
        out.push(prefixDir);
        continue;
      }
      for (const e of await listDir(prefixDir)) {
        const ok = e.isFile() && isDigest(`${alg.name}:${e.name}`) && e.name.startsWith(prefix.name);
        if (!ok && !e.isDirectory()) out.push(join(prefixDir, e.name));
      }
    }
  }
  return out;
}
