// Small HTTP helpers shared by the handlers: bodies, ranges, locations.
import type { Context } from 'koa';
import { RegistryError } from '../shared/errors.js';
import { type Digest, digestString } from '../shared/reference.js';

/** Reads the whole request body, refusing more than `limit` bytes with 413. */
export async function readBody(ctx: Context, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `body is larger than the limit of ${limit} bytes`, { status: 413 });
}

/** Whether the request carries a body at all (a final PUT chunk is optional). */
export function hasBody(ctx: Context): boolean {
  const length = ctx.get('Content-Length');
  if (length !== '') return Number(length) > 0;
  return ctx.get('Transfer-Encoding') !== '';
}

/** An upload chunk's `Content-Range: <start>-<end>`, or undefined when absent. */
export function chunkRange(ctx: Context): { start: number; end: number } | undefined {
  return parseContentRange(ctx.get('Content-Range'), ctx.get('Content-Length'));
}

/**
 * `Content-Range` of an upload chunk (`a-b`, `bytes a-b`, `bytes=a-b`, optionally
 * `/total` or `/*`) against its `Content-Length` (`''` when absent): undefined when
 * there is no header, RANGE_INVALID when it is malformed or disagrees with the length.
 */
export function parseContentRange(header: string, contentLength: string): { start: number; end: number } | undefined {
  if (header === '') return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError('RANGE_INVALID', `malformed Content-Range ${JSON.stringify(header)}`);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start || (contentLength !== '' && Number(contentLength) !== end - start + 1)) {
    throw new RegistryError('RANGE_INVALID', `Content-Range ${header} does not match Content-Length ${contentLength}`);
  }
  return { start, end };
}

/** A GET's `Range: bytes=…` against a blob of `size` bytes; undefined for the whole blob. */
export function byteRange(header: string, size: number): { start: number; end: number } | undefined {
  if (header === '') return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  let range: { start: number; end: number } | undefined;
  if (m && (m[1] !== '' || m[2] !== '')) {
    if (m[1] === '') range = { start: Math.max(size - Number(m[2]), 0), end: size - 1 };
    else range = { start: Number(m[1]), end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
  }
  if (!range || range.start > range.end || range.start >= size) {
    throw new RegistryError('RANGE_INVALID', `range ${JSON.stringify(header)} is not satisfiable for ${size} bytes`, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  return range;
}

/** The `Range` header of an upload in progress: the inclusive range received. */
export function uploadRange(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}

export function blobLocation(name: string, d: Digest): string {
  return `/v2/${name}/blobs/${digestString(d)}`;
}

export function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

export function manifestLocation(name: string, d: Digest): string {
  return `/v2/${name}/manifests/${digestString(d)}`;
}

/** An AbortSignal that fires when the client goes away mid-request. */
export function requestSignal(ctx: Context): AbortSignal {
  const controller = new AbortController();
  ctx.req.once('close', () => {
    if (!ctx.req.complete) controller.abort(new Error('client closed the request'));
  });
  return controller.signal;
}
