#!/usr/bin/env node
// The `cairn` command's entry. CommonJS, so that it runs before any ES module is
// loaded: loading them starts libuv's thread pool, whose size is read once, then.
// `cairn gc` deletes on that pool, and where the filesystem discards freed blocks an
// unlink waits on the disk: 16 threads beat the default 4 (copies of the bench's GC
// tree, 6 alternating pairs: 1.02-1.18 s against 1.08-1.50 s). Then cli.js runs the
// command.
if (process.argv[2] === 'gc') process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./cli.js');
