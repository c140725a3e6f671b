#!/usr/bin/env node
// The `cairn` command line: one yargs program, one module per command.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { serve, serveCommand } from './daemon/main.js';
import { gc, gcCommand } from './gc/main.js';
import { fsck, fsckCommand } from './fsck/main.js';
import {
  exportCommand,
  exportHandler,
  importCommand,
  importHandler,
  inventoryCommand,
  inventoryHandler,
  mirrorCommand,
  mirrorHandler,
} from './mirror/commands.js';
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
  .command('fsck', 'check every blob digest and every link of a root; --repair fixes what it can', fsckCommand, fsck)
  .command('export [refs..]', 'write revisions and all they reference as an OCI image layout (dir or tar)', exportCommand, exportHandler)
  .command('import <bundle>', 'verify a bundle whole, then link its manifests and move its tags', importCommand, importHandler)
  .command('inventory', 'list every digest a store holds (for export --have)', inventoryCommand, inventoryHandler)
  .command('mirror [refs..]', 'pull images from an upstream registry into the store', mirrorCommand, mirrorHandler)
  .command('events', 'show notification events pending or failed under a root', eventsCommand, events)
  .demandCommand(1, 'name a command: serve, gc, fsck, export, import, inventory, mirror, events')
  .strict()
  .version(VERSION)
  .help()
  .parseAsync();
