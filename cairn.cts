#!/usr/bin/env node
// The `cairn` command's entry. CommonJS, so that it runs before any ES module is
// loaded: loading them starts libuv's thread pool, whose size is read once, then.
// `cairn gc` deletes on that pool, and where the filesystem discards freed blocks an
// unlink waits on the disk, so it runs on 16 threads, not 4, for the waits to
// overlap. Then cli.js runs the command.
if (process.argv[2] === 'gc') process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./cli.js');
