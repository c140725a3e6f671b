#!/usr/bin/env node
// The `cairn` command line: one yargs program, one module per command.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { serve, serveCommand } from './daemon/main.js';
import { gc, gcCommand } from './gc/main.js';
import { events, eventsCommand } from './daemon/events/command.js';
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
  .command('events', 'show notification events pending or failed under a root', eventsCommand, events)
  .demandCommand(1, 'name a command: serve, gc, events')
  .strict()
  .version(VERSION)
  .help()
  .parseAsync();
