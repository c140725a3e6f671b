#!/usr/bin/env node
// The `cairn` command line: one yargs program, one module per command. Only the
// module of the command being run is loaded (the daemon's graph alone costs about
// 0.2 s, which a `cairn gc` from cron need not pay); `--help` needs none of them.
import type { Argv } from 'yargs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { VERSION } from './daemon/version.js';

/** A command's option builder and handler (`any`: each command's module types its own argv). */
type Command = { builder: (y: Argv) => Argv; handler: (argv: any) => void | Promise<void> };

/** A command whose module exports its builder and handler under these names. */
function lazy<M>(load: () => Promise<M>, builder: keyof M, handler: keyof M): () => Promise<Command> {
  return async () => {
    const m = await load();
    return { builder: m[builder] as Command['builder'], handler: m[handler] as Command['handler'] };
  };
}
const mirror = () => import('./mirror/commands.js');

const COMMANDS: { usage: string; describe: string; load: () => Promise<Command> }[] = [
  {
    usage: 'serve',
    describe: 'run the registry daemon (OCI Distribution API) over a storage root',
    load: async () => {
      const { serve, serveCommand } = await import('./daemon/main.js');
      return {
        builder: serveCommand,
        handler: async (argv) => {
          const startInbox = argv.inbox ? (await import('./mirror/inbox.js')).startInbox : undefined;
          const server = await serve(argv, undefined, { startInbox });
          const stop = () => server.close(() => process.exit(0));
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        },
      };
    },
  },
  { usage: 'gc', describe: 'remove what nothing references (safe while the daemon serves)', load: lazy(() => import('./gc/main.js'), 'gcCommand', 'gc') },
  { usage: 'fsck', describe: 'check every blob digest and every link of a root; --repair fixes what it can', load: lazy(() => import('./fsck/main.js'), 'fsckCommand', 'fsck') },
  { usage: 'export [refs..]', describe: 'write revisions and all they reference as an OCI image layout (dir or tar)', load: lazy(mirror, 'exportCommand', 'exportHandler') },
  { usage: 'import <bundle>', describe: 'verify a bundle whole, then link its manifests and move its tags', load: lazy(mirror, 'importCommand', 'importHandler') },
  { usage: 'inventory', describe: 'list every digest a store holds (for export --have)', load: lazy(mirror, 'inventoryCommand', 'inventoryHandler') },
  { usage: 'mirror [refs..]', describe: 'pull images from an upstream registry into the store', load: lazy(mirror, 'mirrorCommand', 'mirrorHandler') },
  { usage: 'events', describe: 'show notification events pending or failed under a root', load: lazy(() => import('./events/command.js'), 'eventsCommand', 'events') },
];
const nameOf = (c: { usage: string }) => c.usage.split(' ')[0]!;

const args = hideBin(process.argv);
const chosen = COMMANDS.find((c) => nameOf(c) === args[0]);
const loaded = chosen && (await chosen.load());

let program = yargs(args)
  .scriptName('cairn')
  .usage('$0 <command> [options]\n\nA container image registry on the local filesystem.');
for (const c of COMMANDS) {
  // Only the chosen command's builder ever runs, so the others need no module.
  program = c === chosen && loaded
    ? program.command(c.usage, c.describe, loaded.builder, loaded.handler)
    : program.command(c.usage, c.describe, {}, () => undefined);
}
await program
  .demandCommand(1, `name a command: ${COMMANDS.map(nameOf).join(', ')}`)
  .strict()
  .version(VERSION)
  .help()
  .parseAsync();
