// `cairn inventory`: every digest a store holds, one a line, for the other side's `cairn export --have`.
import { resolve } from 'node:path';
import { listBlobsSync } from '../shared/tree.js';
import { Paths } from '../shared/paths.js';
import { digestString } from '../shared/reference.js';

export async function inventory(root: string): Promise<string[]> {
  return listBlobsSync(new Paths(resolve(root))).map(digestString);
}

export function formatInventory(digests: string[], root: string): string {
  return `# cairn inventory of ${resolve(root)} at ${new Date().toISOString()}: ${digests.length} blob(s)\n${digests.map((d) => `${d}\n`).join('')}`;
}
