// Which endpoints want an event: actions, repository globs, media types. An unset
// filter lets everything through; an event with no media type (a delete by tag)
// passes a mediaTypes filter, since there is nothing to compare.
import type { Endpoint } from './config.js';
import type { RegistryEvent } from './envelope.js';

export function wants(e: Endpoint, ev: RegistryEvent): boolean {
  const f = e.filters;
  if (f.actions && !f.actions.includes(ev.action)) return false;
  if (f.repositories && !f.repositories.some((g) => globMatch(g, ev.target.repository))) return false;
  if (f.mediaTypes && ev.target.mediaType !== undefined && !f.mediaTypes.includes(ev.target.mediaType)) return false;
  return true;
}

/** `*` matches within one name component, `**` across components (`shop/**` matches `shop/a/b`). */
export function globMatch(glob: string, name: string): boolean {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(name);
}
