// Repository globs, as access rules and notification filters write them: `*` matches
// within one name component, `**` across components (`team/**` matches `team/a` and
// `team/a/b`, not `team`), `?` one character of a component.

export function repositoryGlob(glob: string): RegExp {
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
  return new RegExp(`^${re}$`);
}
