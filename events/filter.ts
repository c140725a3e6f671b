// Which endpoints want an event: actions, repository globs, media types. An unset
// filter lets everything through; an event with no media type (a delete by tag)
// passes a mediaTypes filter, since there is nothing to compare.
import { repositoryGlob } from '../shared/glob.js';
import type { Endpoint } from './config.js';
import type { RegistryEvent } from './envelope.js';

export function wants(e: Endpoint, ev: RegistryEvent): boolean {
  const f = e.filters;
  if (f.actions && !f.actions.includes(ev.action)) return false;
  if (f.repositories && !f.repositories.some((g) => repositoryGlob(g).test(ev.target.repository))) return false;
  if (f.mediaTypes && ev.target.mediaType !== undefined && !f.mediaTypes.includes(ev.target.mediaType)) return false;
  return true;
}
