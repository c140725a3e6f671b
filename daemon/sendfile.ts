// Serving a blob's bytes from an open descriptor through a few buffers that are
// reused: each is read into again only once the socket has taken what it held (the
// write's callback). A read stream allocates a fresh 1 MiB buffer for every chunk,
// and collecting those was 18% of the daemon's thread during a 512 MiB pull (CPU
// profile), which made a pull cost 2.5× what a bare Node server's does.
// Node has no sendfile(2); this is the copy through user space at its cheapest.
import { close, read } from 'node:fs';
import type { ServerResponse } from 'node:http';

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

/**
 * Writes `length` bytes of `fd` from `start` to `res` (whose status and headers are set),
 * then closes `fd`. Resolves when the response has ended or the client went away; a read
 * error destroys the response, since its headers, promising `length` bytes, are gone.
 */
export function sendFile(res: ServerResponse, fd: number, start: number, length: number): Promise<void> {
  const size = Math.min(CHUNK, length);
  const take = () => (size === CHUNK ? pool.pop() : undefined) ?? Buffer.allocUnsafeSlow(size);
  const free: Buffer[] = [];
  for (let i = 0; i < Math.min(BUFFERS, Math.ceil(length / CHUNK)); i++) free.push(take());
  let offset = 0; // bytes read so far
  let writing = 0; // buffers the socket still holds
  let reading = false;
  let stopped = false;

  return new Promise((resolve) => {
    const finish = () => {
      // Buffers the socket still holds are left to the collector: it may not be done with them.
      if (size === CHUNK) pool.push(...free.splice(0, POOL_MAX - pool.length));
      close(fd, () => resolve());
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
      read(fd, buf, 0, Math.min(size, length - offset), start + offset, (err, n) => {
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
