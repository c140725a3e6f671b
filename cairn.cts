#!/usr/bin/env node
// The `cairn` executable: sets the size of libuv's thread pool, then runs cli.js.
// libuv reads UV_THREADPOOL_SIZE once, when its pool starts, and Node's ES-module
// loader starts the pool while it loads cli.js; so the size is set here, in CommonJS,
// before anything else is loaded. 16 threads, not libuv's 4: an fsync holds a thread
// while the disk works, and the filesystem commits concurrent fsyncs together (bench,
// 4 alternating runs: small-image push 70-109 → 102-134 images/s; tag PUT level).
process.env.UV_THREADPOOL_SIZE ??= '16';
void import('./cli.js');
