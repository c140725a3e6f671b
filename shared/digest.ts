// Content hashing: digests of buffers, and a hasher that runs while bytes flow.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Algorithm, Digest } from './reference.js';

export function digestOf(data: Uint8Array, algorithm: Algorithm = 'sha256'): Digest {
  return { algorithm, hex: createHash(algorithm).update(data).digest('hex') };
}

export function sameDigest(a: Digest, b: Digest): boolean {
  return a.algorithm === b.algorithm && a.hex === b.hex;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  readonly hash: Hash;
  bytes = 0;

  constructor(algorithm: Algorithm = 'sha256', hash?: Hash) {
    super();
    this.hash = hash ?? createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }
}

