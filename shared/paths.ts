// The storage tree. This module is the only place that turns names, tags and
// digests into paths; everything else asks it. Parts are validated on the way in
// (see reference.ts), so a path built here is always inside the root.
//
//   <root>/
//     blobs/<alg>/<hex[0:2]>/<hex>                 content, written once, never edited
//     repositories/<name>/                         <name> may hold '/': one folder per component
//       _revisions/<alg>/<hex>                     revision link; content: its media type
//       _tags/<tag>/current                        digest the tag points at now
//       _tags/<tag>/index/<alg>/<hex>              every revision the tag held; content: ISO time
//       _tags/<tag>/lock                           held while `current` moves (JSON: host, pid, id)
//       _tags/<tag>/log                            the moves in order, one `<ISO time> <digest>` a line (an index of index/)
//       _layers/<alg>/<hex>                        blobs this repository may serve (empty link)
//       _referrers/<alg>/<subject hex>/<alg>/<hex> manifests whose `subject` is that digest
//       _uploads/<uuid>/{data,state}               an upload that has received bytes (an empty folder: an ended one)
//       _upstream                                  in a pull-through repository: where it is filled from (JSON: url, name)
//     signatures/<alg>/<payload hex>/<id>          detached schema1 JWS signatures
//     tmp/<host>-<pid>-<uuid>                      temp files for atomic rename (<host>: 8 hex of the host name's hash)
//     gc.lock                                      held by a running `cairn gc` (JSON: pid, host, start)
//     gc.lock.takeover                             held briefly while a gc takes over a dead one's lock
//     gc-trash/<host>-<pid>-<uuid>/<path under root> what a running gc has moved aside and may still restore
//     quarantine/<run>/<path under root>            what `cairn fsck --repair` moved aside (corrupt blobs, bad signatures)
//     auth/token-key.jwk                           the daemon's ES256 token-signing key (private JWK, mode 0600)
//     tmp/<host>-<pid>-<uuid>/<alg>-<hex>          a bundle being imported: verified blobs waiting to be adopted
//     gc-last.json                                 figures of the last `cairn gc` run (for /metrics)
//     upload-key                                   the key upload ids are signed with (32 bytes, mode 0600)
//     events/endpoints.json                        the notify endpoints a daemon serves with (so `cairn gc` queues too)
//     events/pending/<endpoint>/<id>.json          an event not yet delivered to that endpoint (ids sort in order)
//     events/failed/<endpoint>/<id>.json           an event the endpoint refused for good, with the reason
//     events/status/<endpoint>.json                the endpoint's last delivery failure and next retry
//
// Outside the root, this module also names the files of an OCI image layout (a
// bundle: oci-layout, index.json, blobs/<alg>/<hex>) and of an import inbox.
//
// Underscored folders cannot collide with nested repository names: a name
// component always starts with [a-z0-9].
import { isAbsolute, join, relative, sep } from 'node:path';
import { type Digest, isDigest, isName, isTag, isUploadId, parseDigest } from './reference.js';
import { tempOwner } from './holder.js';

/**
 * The files inside a tag's folder at `dir`: its place under _tags/, or a folder under
 * tmp/ where a new tag is built whole before it is renamed into place.
 */
export function tagFolder(dir: string) {
  const index = join(dir, 'index');
  return {
    current: join(dir, 'current'),
    lock: join(dir, 'lock'),
    log: join(dir, 'log'),
    index,
    entryDir: (d: Digest) => join(index, d.algorithm),
    entry: (d: Digest) => {
      checkDigest(d);
      return join(index, d.algorithm, d.hex);
    },
  };
}

export class Paths {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  tmpDir(): string {
    return join(this.root, 'tmp');
  }
  blobsDir(): string {
    return join(this.root, 'blobs');
  }
  blob(d: Digest): string {
    checkDigest(d);
    return join(this.root, 'blobs', d.algorithm, d.hex.slice(0, 2), d.hex);
  }
  repositoriesDir(): string {
    return join(this.root, 'repositories');
  }
  repository(name: string): string {
    assert(isName(name), 'name', name);
    return join(this.root, 'repositories', ...name.split('/'));
  }

  revisionsDir(name: string): string {
    return join(this.repository(name), '_revisions');
  }
  revision(name: string, d: Digest): string {
    checkDigest(d);
    return join(this.revisionsDir(name), d.algorithm, d.hex);
  }

  tagsDir(name: string): string {
    return join(this.repository(name), '_tags');
  }
  tag(name: string, tag: string): string {
    assert(isTag(tag), 'tag', tag);
    return join(this.tagsDir(name), tag);
  }
  tagCurrent(name: string, tag: string): string {
    return tagFolder(this.tag(name, tag)).current;
  }
  tagLock(name: string, tag: string): string {
    return tagFolder(this.tag(name, tag)).lock;
  }
  tagLog(name: string, tag: string): string {
    return tagFolder(this.tag(name, tag)).log;
  }
  tagIndexDir(name: string, tag: string): string {
    return tagFolder(this.tag(name, tag)).index;
  }
  tagIndexEntry(name: string, tag: string, d: Digest): string {
    return tagFolder(this.tag(name, tag)).entry(d);
  }

  layersDir(name: string): string {
    return join(this.repository(name), '_layers');
  }
  layer(name: string, d: Digest): string {
    checkDigest(d);
    return join(this.layersDir(name), d.algorithm, d.hex);
  }

  referrersDir(name: string): string {
    return join(this.repository(name), '_referrers');
  }
  referrersOf(name: string, subject: Digest): string {
    checkDigest(subject);
    return join(this.referrersDir(name), subject.algorithm, subject.hex);
  }
  referrer(name: string, subject: Digest, d: Digest): string {
    checkDigest(d);
    return join(this.referrersOf(name, subject), d.algorithm, d.hex);
  }

  uploadsDir(name: string): string {
    return join(this.repository(name), '_uploads');
  }

  /** In a repository the pull-through cache fills: where from (JSON `{url, name}`). Its blobs arrive on demand. */
  upstreamMark(name: string): string {
    return join(this.repository(name), '_upstream');
  }
  upload(name: string, id: string): string {
    assert(isUploadId(id), 'upload id', id);
    return join(this.uploadsDir(name), id);
  }
  uploadData(name: string, id: string): string {
    return join(this.upload(name, id), 'data');
  }
  uploadState(name: string, id: string): string {
    return join(this.upload(name, id), 'state');
  }

  signaturesDir(): string {
    return join(this.root, 'signatures');
  }
  signaturesOf(payload: Digest): string {
    checkDigest(payload);
    return join(this.root, 'signatures', payload.algorithm, payload.hex);
  }
  signature(payload: Digest, id: string): string {
    assert(/^[a-f0-9]{64}$/.test(id), 'signature id', id);
    return join(this.signaturesOf(payload), id);
  }

  authDir(): string {
    return join(this.root, 'auth');
  }
  /** The private JWK that signs tokens in `--auth token` mode, unless `--token-key` names another. */
  uploadKey(): string {
    return join(this.root, 'upload-key');
  }
  tokenKey(): string {
    return join(this.authDir(), 'token-key.jwk');
  }

  gcLock(): string {
    return join(this.root, 'gc.lock');
  }
  gcLockTakeover(): string {
    return join(this.root, 'gc.lock.takeover');
  }
  gcTrashDir(): string {
    return join(this.root, 'gc-trash');
  }
  /** One gc run's trash folder; `run` is a temp name (holder.tempName). */
  gcTrash(run: string): string {
    assert(tempOwner(run) !== undefined, 'gc run id', run);
    return join(this.gcTrashDir(), run);
  }
  /** Where a gc run parks `p` (a path inside the root): the same relative path under its trash folder. */
  gcTrashed(run: string, p: string): string {
    return join(this.gcTrash(run), this.relative(p));
  }
  /** The tag folder (`repositories/<name>/_tags/<tag>`) that is or holds a path inside the root, if any. */
  tagFolderHolding(p: string): string | undefined {
    const parts = this.relative(p).split(sep);
    const at = parts.indexOf('_tags', 2); // repositories/<at least one component>/_tags
    if (parts[0] !== 'repositories' || at < 0 || parts.length < at + 2 || !isTag(parts[at + 1]!)) return undefined;
    return join(this.root, ...parts.slice(0, at + 2));
  }
  /** `p` back from its place under a gc run's trash folder. */
  gcRestored(run: string, trashed: string): string {
    const rel = relative(this.gcTrash(run), trashed);
    assert(isInside(rel), 'trash path', trashed);
    return join(this.root, rel);
  }
  quarantineDir(): string {
    return join(this.root, 'quarantine');
  }
  /** Where one `cairn fsck --repair` run (`<compact ISO time>-<pid>`) puts `p`: the same relative path under its folder. */
  quarantined(run: string, p: string): string {
    assert(/^\d{8}T\d{6}Z-\d+$/.test(run), 'quarantine run id', run);
    return join(this.quarantineDir(), run, this.relative(p));
  }
  /** Staging folder of one import run (a temp name, holder.tempName: a restart removes it if the run died). */
  importStaging(run: string): string {
    assert(tempOwner(run) !== undefined, 'import run id', run);
    return join(this.tmpDir(), run);
  }
  /** A verified blob staged by an import run, adopted into blobs/ once the whole bundle verified. */
  stagedBlob(run: string, d: Digest): string {
    checkDigest(d);
    return join(this.importStaging(run), `${d.algorithm}-${d.hex}`);
  }

  gcLast(): string {
    return join(this.root, 'gc-last.json');
  }

  eventsDir(): string {
    return join(this.root, 'events');
  }
  eventEndpoints(): string {
    return join(this.eventsDir(), 'endpoints.json');
  }
  eventsPendingDir(endpoint?: string): string {
    if (endpoint === undefined) return join(this.eventsDir(), 'pending');
    assert(isEndpointName(endpoint), 'endpoint name', endpoint);
    return join(this.eventsDir(), 'pending', endpoint);
  }
  eventPending(endpoint: string, id: string): string {
    assert(isEventId(id), 'event id', id);
    return join(this.eventsPendingDir(endpoint), `${id}.json`);
  }
  eventsFailedDir(endpoint?: string): string {
    if (endpoint === undefined) return join(this.eventsDir(), 'failed');
    assert(isEndpointName(endpoint), 'endpoint name', endpoint);
    return join(this.eventsDir(), 'failed', endpoint);
  }
  eventFailed(endpoint: string, id: string): string {
    assert(isEventId(id), 'event id', id);
    return join(this.eventsFailedDir(endpoint), `${id}.json`);
  }
  eventStatus(endpoint: string): string {
    assert(isEndpointName(endpoint), 'endpoint name', endpoint);
    return join(this.eventsDir(), 'status', `${endpoint}.json`);
  }

  /** A path inside the root, relative to it. */
  relative(p: string): string {
    const rel = relative(this.root, p);
    assert(isInside(rel) && !rel.startsWith(`gc-trash${sep}`), 'path inside the root', p);
    return rel;
  }
}

function isInside(rel: string): boolean {
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Reads `<alg>/<hex>` (the last two components of a link path) back into a digest. */
export function digestFromLinkPath(p: string): Digest | undefined {
  const parts = p.split(sep);
  const s = `${parts.at(-2)}:${parts.at(-1)}`;
  return isDigest(s) ? parseDigest(s) : undefined;
}

/** A notify endpoint's name, as it appears in paths: lower case, digits, `.`, `_`, `-`. */
export function isEndpointName(s: string): boolean {
  return /^[a-z0-9][a-z0-9._-]{0,63}$/.test(s);
}

/** A queued event's file name (without `.json`): `<ms, 13 digits>-<seq, 6 digits>-<8 hex>`, so names sort in queue order. */
export function isEventId(s: string): boolean {
  return /^\d{13}-\d{6}-[0-9a-f]{8}$/.test(s);
}

/** Component names under a repository folder that hold its content, not nested repositories. */
export function isRepositoryContentDir(component: string): boolean {
  return component.startsWith('_');
}

function checkDigest(d: Digest): void {
  assert(isDigest(`${d.algorithm}:${d.hex}`), 'digest', `${d.algorithm}:${d.hex}`);
}

function assert(ok: boolean, what: string, value: string): void {
  // Callers validate first and answer with an OCI error; reaching here is a bug.
  if (!ok) throw new Error(`refusing to build a path from invalid ${what}: ${JSON.stringify(value)}`);
}

/** An OCI image layout on disk (a bundle for export/import): `oci-layout`, `index.json`, `blobs/<alg>/<hex>`. */
export class LayoutPaths {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }
  ociLayout(): string {
    return join(this.dir, LAYOUT_FILES.ociLayout);
  }
  index(): string {
    return join(this.dir, LAYOUT_FILES.index);
  }
  blobsDir(): string {
    return join(this.dir, LAYOUT_FILES.blobs);
  }
  algorithmDir(algorithm: string): string {
    assert(/^sha(256|512)$/.test(algorithm), 'algorithm', algorithm);
    return join(this.dir, LAYOUT_FILES.blobs, algorithm);
  }
  blob(d: Digest): string {
    checkDigest(d);
    return join(this.dir, LAYOUT_FILES.blobs, d.algorithm, d.hex);
  }
}

/** Top-level names of an OCI image layout, as they appear in a tar. */
export const LAYOUT_FILES = { ociLayout: 'oci-layout', index: 'index.json', blobs: 'blobs' } as const;

/** A tar entry's path read as an OCI layout blob (`[./]blobs/<alg>/<hex>`), or undefined. */
export function layoutBlobEntry(entryPath: string): Digest | undefined {
  const m = /^(?:\.\/)?blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(entryPath);
  const s = m ? `${m[1]}:${m[2]}` : '';
  return isDigest(s) ? parseDigest(s) : undefined;
}

/** Where a bundle is written before it is renamed into place, beside its final path. */
export function partialPath(out: string): string {
  return `${out}.partial-${process.pid}`;
}

/** The inbox the daemon watches (`cairn serve --inbox DIR`): bundles at the top, `done/` and `failed/` beside them. */
export class InboxPaths {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }
  done(): string {
    return join(this.dir, 'done');
  }
  failed(): string {
    return join(this.dir, 'failed');
  }
  /** A top-level entry of the inbox; `name` is one path component. */
  entry(name: string): string {
    assert(isInboxName(name), 'inbox entry', name);
    return join(this.dir, name);
  }
  /** Where a processed bundle goes: `done/<name>` or `failed/<name>` (`suffix` keeps a repeat from clobbering). */
  processed(outcome: 'done' | 'failed', name: string, suffix = ''): string {
    assert(isInboxName(name + suffix), 'inbox entry', name + suffix);
    return join(outcome === 'done' ? this.done() : this.failed(), name + suffix);
  }
  /** The short report written beside a processed bundle. */
  report(processed: string): string {
    return `${processed}.report.txt`;
  }
  /** The top-level entry name of a path the watcher reports, or undefined when it is deeper or not inside. */
  topLevelName(p: string): string | undefined {
    const rel = relative(this.dir, p);
    return rel && !rel.includes(sep) && isInboxName(rel) ? rel : undefined;
  }
}

function isInboxName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes(sep);
}
