// The command lines of export, import, inventory and mirror: options, then printing.
// Exit codes: 0 done, 1 error (for import: nothing was imported), 2 bad arguments.
import { promises as fs, readFileSync } from 'node:fs';
import prettyBytes from 'pretty-bytes';
import type { Argv } from 'yargs';
import { rootArg } from '../shared/options.js';
import { partialPath } from '../shared/paths.js';
import { BundleError } from './bundle.js';
import { exportBundle } from './export.js';
import { importBundle } from './import.js';
import { formatInventory, inventory } from './inventory.js';
import { mirror } from './mirror.js';
import { ByteProgress } from './progress.js';
import { parseInventory, parseStoreRef } from './refs.js';

export interface ExportArgs {
  root: string;
  out: string;
  refs: string[];
  history: boolean;
  referrers: boolean;
  have?: string;
}

export function exportCommand(yargs: Argv): Argv<ExportArgs> {
  return yargs
    .usage('$0 export --root DIR --out FILE.tar|DIR REF...\n\nWrite revisions and all they reference as an OCI image layout (a bundle).\nREF: name:tag, name@digest, name:tag@digest, or name (every tag).')
    .positional('refs', { type: 'string', array: true, describe: 'what to export' })
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root to read' })
    .option('out', { type: 'string', demandOption: true, describe: 'bundle to write: a tar when it ends in .tar, else a directory (must not exist)' })
    .option('history', { type: 'boolean', default: false, describe: "every revision of each tag's history, with the times it was tagged" })
    .option('referrers', { type: 'boolean', default: true, describe: 'include manifests whose subject is an exported revision (--no-referrers leaves them out)' })
    .option('have', { type: 'string', describe: "an inventory of the receiving store (cairn inventory): leave out the blobs it holds" })
    .demandCommand(0)
    .check((argv) => {
      if (!(argv.refs as string[] | undefined)?.length) throw new Error('name at least one REF');
      return true;
    })
    .example('$0 export --root ./data --out app.tar shop/api:v2 shop/web', 'one tag and every tag of a repository')
    .example('$0 export --root ./data --out delta.tar --have remote.inv shop/api', 'an incremental bundle') as unknown as Argv<ExportArgs>;
}

export async function exportHandler(argv: ExportArgs): Promise<void> {
  const bar = new ByteProgress('exporting');
  try {
    const refs = argv.refs.map(String).map(parseStoreRef);
    const have = argv.have === undefined ? undefined : parseInventory(await fs.readFile(argv.have, 'utf8'), argv.have);
    const r = await exportBundle({
      root: argv.root,
      out: argv.out,
      refs,
      history: argv.history,
      referrers: argv.referrers,
      have,
      onStart: (total) => bar.start(total),
      onBytes: bar.add,
    });
    bar.stop();
    process.stdout.write(
      `exported ${r.entries} entr${r.entries === 1 ? 'y' : 'ies'} (${r.manifests} manifest(s)) to ${r.out}: ` +
        `${r.blobsWritten} blob(s), ${prettyBytes(r.bytesWritten)}` +
        (have ? `; left out ${r.blobsLeftOut} blob(s) the other side holds` : '') +
        '\n',
    );
  } catch (err) {
    bar.stop();
    fail('export', err);
  }
}

export interface ImportArgs {
  root: string;
  bundle: string;
  repository?: string;
}

export function importCommand(yargs: Argv): Argv<ImportArgs> {
  return yargs
    .usage('$0 import --root DIR FILE.tar|DIR\n\nVerify a bundle whole, then link its manifests, move its tags and append their histories.')
    .positional('bundle', { type: 'string', describe: 'an OCI image layout: directory, .tar or .tar.gz' })
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root to import into (the daemon may be serving it)' })
    .option('repository', { type: 'string', describe: 'put every entry into this repository (needed for bundles from other tools)' })
    .example('$0 import --root ./data app.tar', 'a bundle from cairn export')
    .example('$0 import --root ./data --repository library/alpine alpine.tar', 'a bundle from skopeo copy … oci-archive:alpine.tar:3') as unknown as Argv<ImportArgs>;
}

export async function importHandler(argv: ImportArgs): Promise<void> {
  const bar = new ByteProgress('verifying');
  try {
    const st = await fs.stat(argv.bundle).catch(() => undefined);
    bar.start(st?.isFile() ? st.size : 0);
    const r = await importBundle({ root: argv.root, source: argv.bundle, repository: argv.repository, onBytes: bar.add });
    bar.stop();
    process.stdout.write(`${formatImportReport(r)}\n`);
  } catch (err) {
    bar.stop();
    fail('import', err, err instanceof BundleError ? 'nothing was imported' : undefined);
  }
}

export function formatImportReport(r: Awaited<ReturnType<typeof importBundle>>): string {
  return (
    `imported ${r.source}: ${r.manifests} manifest(s) into ${r.repositories.join(', ') || 'no repository'}; ` +
    `${r.blobsAdded} new blob(s) (${prettyBytes(r.bytesAdded)}), ${r.blobsPresent} already held; ` +
    `${r.historyEntriesWritten} history entr${r.historyEntriesWritten === 1 ? 'y' : 'ies'} written; ` +
    `tags moved: ${r.tagsMoved.join(', ') || 'none'}`
  );
}

export interface InventoryArgs {
  root: string;
  out?: string;
}

export function inventoryCommand(yargs: Argv): Argv<InventoryArgs> {
  return yargs
    .usage('$0 inventory --root DIR [--out FILE]\n\nWrite every digest the store holds, one a line (for export --have on the other side).')
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root' })
    .option('out', { type: 'string', describe: 'file to write (default: standard output)' }) as unknown as Argv<InventoryArgs>;
}

export async function inventoryHandler(argv: InventoryArgs): Promise<void> {
  try {
    const text = formatInventory(await inventory(argv.root), argv.root);
    if (argv.out === undefined) {
      process.stdout.write(text);
      return;
    }
    const partial = partialPath(argv.out);
    await fs.writeFile(partial, text);
    await fs.rename(partial, argv.out);
  } catch (err) {
    fail('inventory', err);
  }
}

export interface MirrorArgs {
  root: string;
  from: string;
  refs: string[];
  creds?: string;
  credsFile?: string;
}

export function mirrorCommand(yargs: Argv): Argv<MirrorArgs> {
  return yargs
    .usage('$0 mirror --root DIR --from URL REF...\n\nPull images (every platform of an index, their referrers) from a registry into the store.\nREF: name:tag, name@digest, name:tag@digest, or name (every tag upstream).')
    .positional('refs', { type: 'string', array: true, describe: 'what to pull' })
    .option('root', { type: 'string', coerce: rootArg, demandOption: true, describe: 'storage root to pull into (the daemon may be serving it)' })
    .option('from', { type: 'string', demandOption: true, describe: 'upstream registry URL, e.g. https://registry-1.docker.io' })
    .option('creds', { type: 'string', describe: 'USER:PASSWORD for the upstream (basic auth, or to get a token); visible to every user of the machine: prefer --creds-file or CAIRN_MIRROR_CREDS' })
    .option('creds-file', { type: 'string', describe: 'a file holding USER:PASSWORD for the upstream (else the CAIRN_MIRROR_CREDS environment variable)' })
    .conflicts('creds', 'creds-file')
    .check((argv) => {
      if (!(argv.refs as string[] | undefined)?.length) throw new Error('name at least one REF');
      return true;
    })
    .example('$0 mirror --root ./data --from https://registry-1.docker.io library/alpine:3.20', 'every platform of alpine:3.20') as unknown as Argv<MirrorArgs>;
}

export async function mirrorHandler(argv: MirrorArgs): Promise<void> {
  const bar = new ByteProgress('pulling');
  try {
    bar.start(0);
    const r = await mirror({
      root: argv.root,
      from: argv.from,
      refs: argv.refs.map(String).map(parseStoreRef),
      creds: argv.creds ?? (argv.credsFile ? readFileSync(argv.credsFile, 'utf8').replace(/\r?\n$/, '') : process.env.CAIRN_MIRROR_CREDS),
      onNewBlob: (size) => bar.grow(size),
      onBytes: bar.add,
    });
    bar.stop();
    process.stdout.write(
      `mirrored ${r.manifests} manifest(s) from ${argv.from}: ${r.blobsFetched} blob(s) fetched (${prettyBytes(r.bytesFetched)}), ` +
        `${r.blobsPresent} already held; tags moved: ${r.tagsMoved.join(', ') || 'none'}\n`,
    );
  } catch (err) {
    bar.stop();
    fail('mirror', err);
  }
}

function fail(command: string, err: unknown, note?: string): void {
  process.stderr.write(`cairn ${command}: ${(err as Error).message}${note ? ` (${note})` : ''}\n`);
  process.exitCode = 1;
}
