// Serving a blob's bytes from an open descriptor through a few buffers that are
// reused: each is read into again only once the socket has taken what it held (the
// write's callback). A read stream allocates a fresh 1 MiB buffer for every chunk,
// and collecting those was 18% of the daemon's thread during a 512 MiB pull (CPU
// profile), which made a pull cost 2.5× what a bare Node server's does.
// Node has no sendfile(2); this is the copy through user space at its cheapest.
//
// A blob that is not in the page cache (one just pushed: uploads bypass it, see
// store/sink.ts; or one the kernel dropped) is read around it too, O_DIRECT into a
// stage and copied out: on the VMs this project runs on, filling the page cache, not
// the disk, is what makes a cold read slow. Whether the file is cached shows in how
// long full reads take: the last READ_WINDOW over SLOW_WINDOW_NS together (the
// kernel's read-ahead makes every other read from the disk look quick).
import { close, closeSync, read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { BLOCK, STAGE, giveBackStage, reopenDirect, takeStage } from '../store/stages.js';

/** Largest read; also the buffers' size for anything bigger. */
const CHUNK = 1 << 20;
/** One being read into while up to two more wait in the socket. */
const BUFFERS = 3;
/**
 * Full-size buffers kept between responses, so pulls do not make garbage either:
 * enough for two large pulls at once. More at once allocate theirs (3 MiB a pull,
 * not a MiB a chunk), which a bigger pool would instead keep resident for good.
 */
const pool: Buffer[] = [];
const POOL_MAX = 2 * BUFFERS;
/** Full reads looked at together, so that one that waited behind other work on the pool does not decide. */
const READ_WINDOW = 4;
/** READ_WINDOW chunks from the page cache take a fraction of this; from the disk through it, more (under 1 GiB/s). */
const SLOW_WINDOW_NS = 4_000_000n;
/** Bytes left below which a pull finishes as it started. */
const DIRECT_MIN = 4 * CHUNK;

/** Reads around the page cache: a descriptor opened O_DIRECT and the stage read into. */
interface Direct {
  fd: number;
  stage: Buffer;
}

/**
 * Writes `length` bytes of `fd` from `start` to `res` (whose status and headers are set),
 * then closes `fd`. Resolves when the response has ended or the client went away; a read
 * error destroys the response, since its headers, promising `length` bytes, are gone.
 * `around` reads O_DIRECT from the first byte: for a file known not to be cached
 * (store/blobs.ts `writtenAround`). Resolves to how many of the bytes were read O_DIRECT.
 */
export function sendFile(res: ServerResponse, fd: number, start: number, length: number, opts: { around?: boolean } = {}): Promise<{ directBytes: number }> {
  const size = Math.min(CHUNK, length);
  const take = () => (size === CHUNK ? pool.pop() : undefined) ?? Buffer.allocUnsafeSlow(size);
  const free: Buffer[] = [];
  for (let i = 0; i < Math.min(BUFFERS, Math.ceil(length / CHUNK)); i++) free.push(take());
  let offset = 0; // bytes read so far
  let writing = 0; // buffers the socket still holds
  let reading = false;
  let stopped = false;
  const took: bigint[] = []; // the last READ_WINDOW full reads' times
  let direct: Direct | undefined;
  let directTried = false;
  let directBytes = 0;

  const startDirect = () => {
    directTried = true;
    const stage = takeStage();
    if (!stage) return; // every stage is in use: through the page cache, as before
    const dfd = reopenDirect(fd);
    if (dfd === undefined) return giveBackStage(stage);
    direct = { fd: dfd, stage };
  };
  const endDirect = () => {
    if (!direct) return;
    closeSync(direct.fd);
    giveBackStage(direct.stage);
    direct = undefined;
  };

  /** Reads the next bytes into `buf`; `done` gets how many. */
  const readNext = (buf: Buffer, done: (err: Error | null, n: number) => void) => {
    const want = Math.min(size, length - offset);
    const at = start + offset;
    if (direct) {
      const { fd: dfd, stage } = direct;
      const skip = at % BLOCK;
      return read(dfd, stage, 0, STAGE, at - skip, (err, n) => {
        if (err) {
          endDirect(); // the filesystem took the open but not the read: the page cache, then
          return stopped ? done(err, 0) : readNext(buf, done);
        }
        const got = Math.max(0, Math.min(n - skip, want));
        stage.copy(buf, 0, skip, skip + got);
        directBytes += got;
        done(null, got);
      });
    }
    const began = process.hrtime.bigint();
    read(fd, buf, 0, want, at, (err, n) => {
      if (!err && want === CHUNK) {
        if (took.push(process.hrtime.bigint() - began) > READ_WINDOW) took.shift();
        const slow = took.length === READ_WINDOW && took.reduce((a, b) => a + b) > SLOW_WINDOW_NS;
        if (slow && !directTried && length - offset - n >= DIRECT_MIN) startDirect();
      }
      done(err, n);
    });
  };

  if (opts.around) startDirect();

  return new Promise((resolve) => {
    const finish = () => {
      endDirect();
      // Buffers the socket still holds are left to the collector: it may not be done with them.
      if (size === CHUNK) pool.push(...free.splice(0, POOL_MAX - pool.length));
      close(fd, () => resolve({ directBytes }));
    };
    const stop = (err?: Error) => {
      if (stopped) return;
      stopped = true;
      if (err) res.destroy(err);
      if (!reading) finish(); // else the read's callback finishes: it still uses the descriptor
    };
    res.once('close', () => stop()); // the client went away, or the response has ended

    const pump = () => {
      if (stopped || reading) return;
      if (offset === length) {
        if (writing === 0) res.end();
        return;
      }
      const buf = free.pop();
      if (!buf) return; // every buffer is in the socket; a write's callback pumps again
      reading = true;
      readNext(buf, (err, n) => {
        reading = false;
        if (stopped) return finish();
        if (err || n === 0) return stop(err ?? new Error('blob file ended before its size'));
        offset += n;
        writing++;
        res.write(n === buf.length ? buf : buf.subarray(0, n), (werr) => {
          writing--;
          if (werr) return stop();
          free.push(buf);
          pump();
        });
        pump();
      });
    };
    if (length === 0) res.end();
    else pump();
  });
}
