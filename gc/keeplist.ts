// Keep-lists (docs/gc.md): what outside systems (deploy inventories, release trackers)
// say must survive. One reference a line; `#` starts a comment; blank lines are
// ignored. All lists are parsed before the GC touches anything, so a bad line
// stops the run with nothing deleted.
import { readFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import { type Digest, isDigest, isName, isTag, parseDigest } from '../shared/reference.js';

export interface KeepEntry {
  name: string;
  /** `name:tag` alone keeps the tag's current revision; with a digest it only says how the line was written. */
  tag?: string;
  digest?: Digest;
  /** `file:line`, for warnings about entries that name nothing in the store. */
  source: string;
}

export class KeepListError extends Error {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, why: string) {
    super(`${file}:${line}: ${why}`);
    this.file = file;
    this.line = line;
  }
}

const FORMS = 'expected name@sha256:<hex>, name:tag@sha256:<hex> or name:tag';

/** Parses one keep-list's text; `file` names it in errors (`-` for standard input). */
export function parseKeepList(content: string, file: string): KeepEntry[] {
  const entries: KeepEntry[] = [];
  content.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    // Names, tags and digests never hold '#', so a comment may also end a line.
    const s = raw.replace(/#.*$/, '').trim();
    if (s === '') return;
    entries.push(parseLine(s, file, line));
  });
  return entries;
}

function parseLine(s: string, file: string, line: number): KeepEntry {
  const fail = (why: string) => new KeepListError(file, line, `${why} in ${JSON.stringify(s)} (${FORMS})`);
  if (/\s/.test(s)) throw fail('unexpected whitespace');
  const at = s.indexOf('@');
  const ref = at < 0 ? s : s.slice(0, at);
  const digestText = at < 0 ? undefined : s.slice(at + 1);
  if (digestText !== undefined && !isDigest(digestText)) throw fail(`invalid digest ${JSON.stringify(digestText)}`);
  // A repository name never holds ':', so the first ':' starts the tag.
  const colon = ref.indexOf(':');
  const name = colon < 0 ? ref : ref.slice(0, colon);
  const tag = colon < 0 ? undefined : ref.slice(colon + 1);
  if (!isName(name)) throw fail(`invalid repository name ${JSON.stringify(name)}`);
  if (tag !== undefined && !isTag(tag)) throw fail(`invalid tag ${JSON.stringify(tag)}`);
  if (tag === undefined && digestText === undefined) throw fail('a bare name is ambiguous');
  return { name, tag, digest: digestText === undefined ? undefined : parseDigest(digestText), source: `${file}:${line}` };
}

/** Reads and parses every keep-list (`-` is standard input, read once). Throws KeepListError on the first bad line. */
export async function readKeepLists(files: string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<KeepEntry[]> {
  const out: KeepEntry[] = [];
  let stdinText: string | undefined;
  for (const file of files) {
    let content: string;
    if (file === '-') content = stdinText ??= await text(stdin);
    else {
      try {
        content = await readFile(file, 'utf8');
      } catch (err) {
        throw new KeepListError(file, 0, `cannot read keep-list: ${(err as Error).message}`);
      }
    }
    out.push(...parseKeepList(content, file === '-' ? '<stdin>' : file));
  }
  return out;
}
