/**
 * Ansible's `apt` module: package with apt-get, on hosts whose package manager
 * is apt, with the module's own arguments: `upgrade` (yes/safe:
 * `apt-get upgrade --with-new-pkgs`; full/dist: `apt-get dist-upgrade`, as
 * Ansible runs them with apt-get), `cache_valid_time`, `autoremove`,
 * `autoclean`, `pkg` (alias of name), version pins `name=VERSION`, `force`
 * and `force_apt_get`.
 *
 * Decisions:
 * - We always run apt-get (never aptitude): `force_apt_get` is accepted and
 *   changes nothing; `upgrade: full` is `apt-get dist-upgrade`, which is what
 *   Ansible runs for it with apt-get.
 * - `cache_valid_time` reads when the lists were last refreshed as Ansible
 *   does (mtime of /var/lib/apt/periodic/update-success-stamp, else of
 *   /var/lib/apt/lists): fresher than N seconds, no refresh. Given, it implies
 *   `update_cache` (Ansible 2.4+).
 * - An upgrade is planned from `apt-get -s` on the lists the host has now.
 *   When the lists are refreshed first (update_cache, stale), what the refresh
 *   brings cannot be known before it: the task reports a change and says how
 *   many upgrades are pending in the current lists (never a false "ok").
 * - `autoclean` and `autoremove` without names: planned from `apt-get -s
 *   autoclean|autoremove` (Ansible's changed test: `Del ` / removals), both
 *   run when both are given, after any refresh (Ansible's module skips them
 *   when it refreshes the lists or when autoclean is given: nothing here is
 *   silently skipped). With names or upgrade, `autoremove` is apt-get's
 *   `--auto-remove` on that command, as in Ansible.
 * - `force`: Ansible's `--force-yes`, spelled as the options apt-get says
 *   replace it: --allow-downgrades --allow-remove-essential
 *   --allow-change-held-packages --allow-unauthenticated.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { change, defineTask, ok, type Plan, type Prediction, type Step } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import {
  aptCacheTime,
  aptClean,
  upgradablePackages,
  type AptCacheTime,
  type AptCleanInfo,
  type AptCleanOp,
  type PackagesInfo,
  type UpgradableInfo,
} from '../facts/packages.js';
import { aliasedOptional } from './lib/args.js';
import { aptCleanSteps, updateCacheSteps, type ManagerOptions } from './lib/packages.js';
import { nameFacts, packageFields, packageRules, planNames, planUpgrade } from './package.js';

const FORCE = '--allow-downgrades --allow-remove-essential --allow-change-held-packages --allow-unauthenticated';

const aptName = z.union([z.literal('*'), packageFields.shape.name.unwrap()]).optional();

const fields = packageFields
  .omit({ upgrade: true })
  .extend({
    name: aptName.describe("Package name or list of names; `name=VERSION` installs that version (`1.2*`: any starting so); `'*'` with state latest: upgrade every package"),
    pkg: aptName.describe('Alias of name'),
    upgrade: z
      .union([z.boolean(), z.enum(['no', 'yes', 'safe', 'full', 'dist'])])
      .optional()
      .describe('yes/safe: apt-get upgrade --with-new-pkgs; full/dist: apt-get dist-upgrade; no: none. Used without name'),
    cache_valid_time: z.number().int().min(0).default(0).describe('Refresh the lists only when older than this many seconds (implies update_cache)'),
    autoremove: z.boolean().default(false).describe('Remove packages installed as dependencies that nothing needs any more (apt-get autoremove; --auto-remove with name or upgrade)'),
    autoclean: z.boolean().default(false).describe('Delete downloaded package files that can no longer be downloaded (apt-get autoclean)'),
    force: z.boolean().default(false).describe('Allow downgrades, held and essential packages, unauthenticated packages (Ansible: --force-yes)'),
    force_apt_get: z.boolean().default(false).describe('Accepted for Ansible playbooks: provision always uses apt-get, never aptitude'),
  });

const schema = fields
  .transform(({ pkg, ...a }, ctx) => {
    const name = aliasedOptional({ name: a.name, pkg }, ['name', 'pkg'], ctx);
    const up = a.upgrade === true || a.upgrade === 'yes' || a.upgrade === 'safe' ? 'safe' : a.upgrade === 'full' || a.upgrade === 'dist' ? 'dist' : undefined;
    return { ...a, name, upgrade: up as 'safe' | 'dist' | undefined, update_cache: a.update_cache || a.cache_valid_time > 0 };
  })
  .superRefine((a, ctx) => {
    packageRules('name, upgrade, update_cache, autoremove or autoclean')(a, ctx);
    const names = a.name === undefined ? [] : typeof a.name === 'string' ? [a.name] : a.name;
    if (names.includes('*') && (names.length > 1 || a.state !== 'latest')) {
      ctx.addIssue({ code: 'custom', message: "name '*' is used alone with state: latest (upgrade every package)", path: ['name'] });
    }
  });

export type AptArgs = z.output<typeof schema>;

type AptFacts = {
  installed: FactRequest<PackagesInfo>;
  upgradable: FactRequest<UpgradableInfo>;
  cache: FactRequest<AptCacheTime>;
  autoremove: FactRequest<AptCleanInfo>;
  autoclean: FactRequest<AptCleanInfo>;
};

const namesOf = (a: AptArgs): string[] => (a.name === undefined ? [] : [...new Set(typeof a.name === 'string' ? [a.name] : a.name)]);

/** name '*' with state latest is Ansible's upgrade: yes. */
const upgradeOf = (a: AptArgs): 'safe' | 'dist' | undefined => a.upgrade ?? (namesOf(a).includes('*') ? 'safe' : undefined);

const cleanOps = (a: AptArgs): AptCleanOp[] => (namesOf(a).length > 0 || upgradeOf(a) !== undefined ? [] : (['autoclean', 'autoremove'] as const).filter((op) => a[op]));

const optionsOf = (a: AptArgs): ManagerOptions | undefined => {
  const words = [a.autoremove ? '--auto-remove' : '', a.purge && a.autoremove ? '--purge' : '', a.force ? FORCE : ''].filter(Boolean).join(' ');
  return words ? { apt: words } : undefined;
};

/** Is a refresh of the lists due? (update_cache; with cache_valid_time only when the lists are older.) */
function stale(a: AptArgs, cache: AptCacheTime | undefined): boolean {
  if (!a.update_cache) return false;
  if (a.cache_valid_time === 0) return true;
  if (!cache) throw new TaskError('internal: apt cache time fact missing');
  return cache.updated + a.cache_valid_time < cache.now;
}

/** autoclean / autoremove without names: what `apt-get -s` says each would delete. */
function planClean(a: AptArgs, facts: Partial<{ autoremove: AptCleanInfo; autoclean: AptCleanInfo }>, refresh: Step[]): Plan {
  const parts: string[] = [];
  const steps: Step[] = [...refresh];
  const predictions: Prediction[] = [];
  for (const op of cleanOps(a)) {
    const found = facts[op];
    if (!found) throw new TaskError(`internal: apt ${op} fact missing`);
    if (found.length === 0) continue;
    parts.push(`${op === 'autoremove' ? 'remove unneeded packages' : 'delete obsolete package files'}: ${found.join(', ')}`);
    steps.push(...aptCleanSteps(op, optionsOf(a)));
    predictions.push({ request: aptClean(op), value: [] } as Prediction);
  }
  if (refresh.length > 0) parts.unshift('update the package lists');
  if (parts.length === 0) return ok(`nothing to ${cleanOps(a).join(' or ')}`);
  return change(parts.join('; '), steps, { predictions });
}

export const aptTask = defineTask({
  name: 'apt',
  description: "Ansible's apt module: package with apt-get (upgrade, cache_valid_time, autoremove, autoclean, name=VERSION), on hosts whose package manager is apt",
  example:
    '- name: chrony installed\n  apt: { name: chrony, state: present, update_cache: true, cache_valid_time: 3600 }\n- name: everything upgraded\n  apt: { upgrade: dist, update_cache: true, cache_valid_time: 3600 }\n- apt: { autoremove: true }',
  schema,
  facts(a): AptFacts {
    const upgrade = upgradeOf(a);
    const f: Partial<AptFacts> = upgrade === undefined ? nameFacts(namesOf(a), a.state) : { upgradable: upgradablePackages(upgrade) };
    if (a.update_cache && a.cache_valid_time > 0) f.cache = aptCacheTime();
    for (const op of cleanOps(a)) f[op] = aptClean(op);
    return f as AptFacts;
  },
  plan(a, allFacts, ctx) {
    if (ctx.host.packageManager !== 'apt') {
      throw new TaskError(`apt: this host's package manager is ${ctx.host.packageManager}, not apt (package: picks the host's own)`);
    }
    const facts: Partial<typeof allFacts> = allFacts;
    const refresh = stale(a, facts.cache);
    const options = optionsOf(a);
    const upgrade = upgradeOf(a);
    if (upgrade !== undefined) return planUpgrade(ctx.host, upgrade, facts.upgradable, { update: refresh, ...(options ? { options } : {}) });
    const names = namesOf(a);
    if (names.length > 0) return planNames(ctx.host, names, { state: a.state, update: refresh, purge: a.purge, ...(options ? { options } : {}) }, facts);
    const refreshSteps: Step[] = refresh ? updateCacheSteps(ctx.host) : [];
    if (cleanOps(a).length > 0) return planClean(a, facts, refreshSteps);
    if (refresh) {
      return change('update the package lists', refreshSteps, {
        predictions: a.cache_valid_time > 0 && facts.cache ? [{ request: aptCacheTime(), value: { updated: facts.cache.now, now: facts.cache.now } } as Prediction] : [],
      });
    }
    const age = facts.cache ? facts.cache.now - facts.cache.updated : 0;
    return ok(`package lists refreshed ${age}s ago, within cache_valid_time ${a.cache_valid_time}`);
  },
});
