#!/usr/bin/env node
// The `cairn` command line: one yargs program, one module per command.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { serve, serveCommand } from './daemon/main.js';
import { gc, gcCommand } from './gc/main.js';
import { fsck, fsckCommand } from './fsck/main.js';
import { VERSION } from './daemon/version.js';

await yargs(hideBin(process.argv))
  .scriptName('cairn')
  .usage('$0 <command> [options]\n\nA container image registry on the local filesystem.')
  .command(
    'serve',
    'run the registry daemon (OCI Distribution API) over a storage root',
    serveCommand,
    async (argv) => {
      const server = await serve(argv);
      const stop = () => server.close(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
  )
  .command('gc', 'remove what nothing references (safe while the daemon serves)', gcCommand, gc)
  .command('fsck', 'check every blob digest and every link of a root; --repair fixes what it can', fsckCommand, fsck)
  .demandCommand(1, 'name a command: serve, gc, fsck')
  .strict()
  .version(VERSION)
  .help()
  .parseAsync();
