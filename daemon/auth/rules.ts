// The access rules file (JSON or YAML): per user, group, every signed-in user or
// everyone, repository globs → pull, push, delete. Rights add up over every rule
// that applies; nothing is granted that no rule grants.
//
//   groups:
//     devs: [alice, bob]
//   rules:
//     - repositories: ["team/**"]
//       groups: [devs]
//       actions: [pull, push]
//     - repositories: ["public/**"]
//       anonymous: true          # everyone, signed in or not (pull only)
//       actions: [pull]
//
// Globs: `*` any characters within one name component, `**` any characters across
// components, `?` one character other than '/'.
import { readFile } from 'node:fs/promises';
import { ACTIONS, type Action } from './scope.js';
import { repositoryGlob } from '../../shared/glob.js';

/** Who is asking: a user name, or undefined for an anonymous caller. */
export interface Identity {
  user?: string;
}

/** What a caller may do, asked per repository. */
export interface Access {
  /** True when every repository allows every action (no per-name check is needed). */
  readonly unrestricted: boolean;
  may(name: string, action: Action): boolean;
}

export const UNRESTRICTED: Access = { unrestricted: true, may: () => true };
export const NOTHING: Access = { unrestricted: false, may: () => false };

interface Rule {
  globs: RegExp[];
  users: Set<string>;
  groups: Set<string>;
  anonymous: boolean;
  authenticated: boolean;
  actions: Set<Action>;
}

export class Rules {
  private readonly rules: Rule[];
  private readonly groupsOf: Map<string, Set<string>>;

  private constructor(rules: Rule[], groupsOf: Map<string, Set<string>>) {
    this.rules = rules;
    this.groupsOf = groupsOf;
  }

  /** Without a rules file: every signed-in user may do everything, anonymous callers nothing. */
  static signedInMayAll(): Rules {
    return new Rules(
      [{ globs: [repositoryGlob('**')], users: new Set(), groups: new Set(), anonymous: false, authenticated: true, actions: new Set(ACTIONS) }],
      new Map(),
    );
  }

  static async load(file: string): Promise<Rules> {
    const text = await readFile(file, 'utf8');
    const json = /\.json$/i.test(file);
    const parseYaml = json ? undefined : (await import('yaml')).parse; // loaded only for a YAML rules file
    let doc: unknown;
    try {
      doc = parseYaml ? parseYaml(text) : JSON.parse(text); // YAML is a superset of JSON
    } catch (err) {
      throw new Error(`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
    }
    return Rules.parse(doc, file);
  }

  static parse(doc: unknown, where = 'rules'): Rules {
    const fail = (msg: string): never => {
      throw new Error(`${where}: ${msg}`);
    };
    if (!isObject(doc)) fail('expected an object with "rules" (and optionally "groups")');
    const d = doc as Record<string, unknown>;
    for (const key of Object.keys(d)) if (key !== 'rules' && key !== 'groups') fail(`unknown key "${key}"`);
    const groupsOf = new Map<string, Set<string>>();
    const groups = d.groups ?? {};
    if (!isObject(groups)) fail('"groups" must map group names to lists of users');
    for (const [group, members] of Object.entries(groups as Record<string, unknown>)) {
      for (const user of strings(members, `groups.${group}`, fail)) {
        groupsOf.set(user, (groupsOf.get(user) ?? new Set()).add(group));
      }
    }
    if (!Array.isArray(d.rules)) fail('"rules" must be a list');
    const rules = (d.rules as unknown[]).map((raw, i): Rule => {
      const at = `rules[${i}]`;
      if (!isObject(raw)) fail(`${at} must be an object`);
      const r = raw as Record<string, unknown>;
      const known = ['repositories', 'users', 'groups', 'anonymous', 'authenticated', 'actions'];
      for (const key of Object.keys(r)) if (!known.includes(key)) fail(`${at}: unknown key "${key}"`);
      const actions = strings(r.actions, `${at}.actions`, fail);
      for (const a of actions) if (!(ACTIONS as string[]).includes(a)) fail(`${at}: unknown action "${a}" (pull, push, delete)`);
      const rule: Rule = {
        globs: strings(r.repositories, `${at}.repositories`, fail).map(repositoryGlob),
        users: new Set(r.users === undefined ? [] : strings(r.users, `${at}.users`, fail)),
        groups: new Set(r.groups === undefined ? [] : strings(r.groups, `${at}.groups`, fail)),
        anonymous: r.anonymous === true,
        authenticated: r.authenticated === true,
        actions: new Set(actions as Action[]),
      };
      if (rule.anonymous && actions.some((a) => a !== 'pull')) fail(`${at}: anonymous callers may only pull`);
      if (!rule.anonymous && !rule.authenticated && !rule.users.size && !rule.groups.size) {
        fail(`${at} applies to no one: give users, groups, authenticated: true or anonymous: true`);
      }
      return rule;
    });
    return new Rules(rules, groupsOf);
  }

  /** The actions `who` may take on repository `name`. */
  actions(who: Identity, name: string): Set<Action> {
    const out = new Set<Action>();
    const groups = who.user === undefined ? undefined : this.groupsOf.get(who.user);
    for (const rule of this.rules) {
      const applies =
        rule.anonymous ||
        (who.user !== undefined &&
          (rule.authenticated || rule.users.has(who.user) || [...(groups ?? [])].some((g) => rule.groups.has(g))));
      if (applies && rule.globs.some((g) => g.test(name))) for (const a of rule.actions) out.add(a);
    }
    return out;
  }

  accessFor(who: Identity): Access {
    const cache = new Map<string, Set<Action>>();
    return {
      unrestricted: false,
      may: (name, action) => {
        let set = cache.get(name);
        if (!set) cache.set(name, (set = this.actions(who, name)));
        return set.has(action);
      },
    };
  }
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown, at: string, fail: (msg: string) => never): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) fail(`${at} must be a string or a list of strings`);
  return v as string[];
}
