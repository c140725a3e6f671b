// References named on the command line of export and mirror: `name`, `name:tag`,
// `name@digest`, `name:tag@digest`.
import { type Digest, isDigest, isName, isTag, parseDigest } from '../shared/reference.js';

export interface StoreRef {
  name: string;
  tag?: string;
  digest?: Digest;
}

export function parseStoreRef(s: string): StoreRef {
  const at = s.indexOf('@');
  const head = at < 0 ? s : s.slice(0, at);
  const digestText = at < 0 ? undefined : s.slice(at + 1);
  if (digestText !== undefined && !isDigest(digestText)) throw new Error(`${JSON.stringify(s)}: ${JSON.stringify(digestText)} is not a digest`);
  // A tag follows the last ':' after the last '/' (names hold no ':').
  const colon = head.lastIndexOf(':');
  const name = colon > head.lastIndexOf('/') && colon >= 0 ? head.slice(0, colon) : head;
  const tag = colon > head.lastIndexOf('/') && colon >= 0 ? head.slice(colon + 1) : undefined;
  if (!isName(name)) throw new Error(`${JSON.stringify(s)}: ${JSON.stringify(name)} is not a repository name`);
  if (tag !== undefined && !isTag(tag)) throw new Error(`${JSON.stringify(s)}: ${JSON.stringify(tag)} is not a tag`);
  return { name, tag, digest: digestText === undefined ? undefined : parseDigest(digestText) };
}

/** Lines of an inventory (`cairn inventory`): one digest a line, `#` comments and blank lines ignored. */
export function parseInventory(text: string, file: string): Set<string> {
  const out = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    if (!isDigest(line)) throw new Error(`${file}:${i + 1}: not a digest: ${JSON.stringify(line)}`);
    out.add(line);
  });
  return out;
}
