// daemon/auth/rules.ts: who may do what, from the rules file alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rules } from '../../../../daemon/auth/rules.js';

const RULES = Rules.parse({
  groups: { devs: ['alice', 'bob'] },
  rules: [
    { repositories: ['**'], users: ['admin'], actions: ['pull', 'push', 'delete'] },
    { repositories: ['team/**'], groups: ['devs'], actions: ['pull'] },
    { repositories: ['team/*'], users: ['alice'], actions: ['push'] },
    { repositories: ['public/*'], anonymous: true, actions: ['pull'] },
    { repositories: ['scratch/?'], authenticated: true, actions: ['pull', 'push'] },
  ],
});

test('rights add up over every rule that applies, and nothing else is granted', () => {
  const cases: [string | undefined, string, string[]][] = [
    ['admin', 'secret/db', ['pull', 'push', 'delete']],
    ['alice', 'team/app', ['pull', 'push']],
    ['alice', 'team/a/b', ['pull']], // `*` stays within one component, `**` crosses them
    ['bob', 'team/app', ['pull']],
    ['bob', 'team', []], // `team/**` does not match `team`
    ['carol', 'team/app', []],
    [undefined, 'public/base', ['pull']],
    ['carol', 'public/base', ['pull']], // anonymous rules apply to everyone
    [undefined, 'public/a/b', []],
    ['carol', 'scratch/x', ['pull', 'push']],
    ['carol', 'scratch/xy', []], // `?` is one character
    [undefined, 'scratch/x', []],
  ];
  for (const [user, repo, actions] of cases) {
    assert.deepEqual([...RULES.actions({ user }, repo)].sort(), [...actions].sort(), `${user ?? 'anonymous'} on ${repo}`);
    const access = RULES.accessFor({ user });
    for (const a of ['pull', 'push', 'delete'] as const) assert.equal(access.may(repo, a), actions.includes(a), `${user} ${a} ${repo}`);
  }
});

test('a rules file that could grant by mistake is refused', () => {
  for (const [doc, why] of [
    [{ rules: [{ repositories: ['**'], actions: ['pull'] }] }, /applies to no one/],
    [{ rules: [{ repositories: ['**'], anonymous: true, actions: ['push'] }] }, /anonymous callers may only pull/],
    [{ rules: [{ repositories: ['**'], users: ['a'], actions: ['write'] }] }, /unknown action/],
    [{ rules: [{ repositories: ['**'], user: ['a'], actions: ['pull'] }] }, /unknown key "user"/],
    [{ rule: [] }, /unknown key "rule"/],
  ] as const) {
    assert.throws(() => Rules.parse(doc), why);
  }
});

test('without a rules file every signed-in user may do everything, anonymous callers nothing', () => {
  const r = Rules.signedInMayAll();
  assert.deepEqual([...r.actions({ user: 'x' }, 'any/repo')].sort(), ['delete', 'pull', 'push']);
  assert.deepEqual([...r.actions({}, 'any/repo')], []);
});
