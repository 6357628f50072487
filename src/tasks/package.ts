/**
 * `package`: install, upgrade or remove OS packages with the host's package
 * manager (apt, dnf, yum), or upgrade the whole system (`upgrade: security|all`).
 * Several names are installed in ONE command. apt lists are refreshed first
 * when empty (fresh images) or when `update_cache` is set.
 *
 * Decisions:
 * - `update_cache` with names refreshes before installing, but only when
 *   something is to be installed: a refresh alone is not a change of state.
 *   `update_cache` alone (no name, no upgrade) always reports a change (as
 *   Ansible without cache_valid_time).
 * - `state: latest` compares with the package lists the host has now
 *   (`apt-get -s upgrade`, `dnf check-update`); with `update_cache` the
 *   lists are refreshed before the install, not before planning.
 * - `upgrade` is planned from the current lists too; on apt hosts whose lists
 *   are empty it is always a change (nothing is known until `apt-get update`).
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { change, defineTask, ok, type Plan, type Prediction, type Step } from '../contract/task.js';
import type { HostFacts } from '../contract/host-facts.js';
import type { FactRequest } from '../contract/fact.js';
import {
  packagesInstalled,
  upgradablePackages,
  type PackagesInfo,
  type UpgradableInfo,
  type UpgradeKind,
} from '../facts/packages.js';
import { installSteps, removeSteps, updateCacheSteps, upgradeSteps, type ManagerOptions } from './lib/packages.js';

/**
 * Debian and RPM package names (an apt `:arch` suffix allowed), with an
 * optional apt version pin `=VERSION` (`*` matches any rest, as in Ansible's
 * `nginx=1.22*`); never an option or a shell glob. yum/dnf pins
 * (`name-1.2`, `name-1.2-3.el9`) are names to rpm: the packages fact knows them.
 */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._~-]*(:[a-z0-9_-]+)?(=[A-Za-z0-9.+~:-]+\*?)?$/;

const nameArg = z.string().regex(PACKAGE_NAME, 'not a package name');

/** package's arguments; apt, dnf and yum take the ones Ansible's modules of those names share with it. */
export const packageFields = z
  .object({
    name: z
      .union([nameArg, z.array(nameArg).min(1)])
      .optional()
      .describe('Package name, or a list of names (installed or removed in one command); apt: `name=VERSION` installs that version'),
    state: z
      .enum(['present', 'absent', 'latest'])
      .default('present')
      .describe('present: installed (any version); latest: installed and upgraded to the newest version in the package lists; absent: removed'),
    update_cache: z.boolean().default(false).describe('Refresh the package lists (apt-get update / dnf makecache) before installing'),
    upgrade: z
      .enum(['security', 'all'])
      .optional()
      .describe('Upgrade installed packages: security fixes only, or all (apt-get upgrade / dnf upgrade). Used without name'),
    purge: z.boolean().default(false).describe('state absent: also delete the configuration files (apt purge)'),
  })
  .strict();

/** The combinations package refuses, for its own schema and (without `upgrade`) its apt/dnf/yum subsets. */
export const packageRules =
  (needs: string) =>
  (a: { name?: unknown; state: string; update_cache: boolean; upgrade?: unknown; purge?: boolean; autoremove?: boolean; autoclean?: boolean }, ctx: z.RefinementCtx): void => {
    if (a.upgrade !== undefined && a.name !== undefined) ctx.addIssue({ code: 'custom', message: 'upgrade is used alone, without name', path: ['upgrade'] });
    if (a.name === undefined && a.upgrade === undefined && !a.update_cache && !a.autoremove && !a.autoclean) ctx.addIssue({ code: 'custom', message: `give ${needs}`, path: ['name'] });
    if (a.purge === true && a.state !== 'absent' && !a.autoremove) ctx.addIssue({ code: 'custom', message: 'purge is only used with state: absent', path: ['purge'] });
    const names = a.name === undefined ? [] : Array.isArray(a.name) ? (a.name as string[]) : [a.name as string];
    if (a.state === 'latest' && names.some((n) => n.includes('='))) {
      ctx.addIssue({ code: 'custom', message: 'a version pin (name=VERSION) is used with state present or absent, not latest', path: ['name'] });
    }
  };

const argsSchema = packageFields.superRefine(packageRules('name, upgrade, or update_cache'));

export type PackageArgs = z.output<typeof argsSchema>;

const namesOf = (a: { name?: string | readonly string[] }): string[] => (a.name === undefined ? [] : [...new Set(typeof a.name === 'string' ? [a.name] : a.name)]);

/** `nginx=1.22*` → name `nginx`, pin `1.22*`. */
const splitPin = (spec: string): { base: string; pin?: string } => {
  const i = spec.indexOf('=');
  return i < 0 ? { base: spec } : { base: spec.slice(0, i), pin: spec.slice(i + 1) };
};

/** Does an installed version satisfy an apt pin (exact, or a prefix when it ends in `*`)? */
const pinMatches = (pin: string, version: string): boolean => (pin.endsWith('*') ? version.startsWith(pin.slice(0, -1)) : version === pin);

/** Only the facts these arguments need are requested: the planner reads them as optional. */
type PackageFacts = { installed: FactRequest<PackagesInfo>; upgradable: FactRequest<UpgradableInfo> };

const list = (names: readonly string[]): string => names.join(', ');

const PLANNED = '(planned)';

/** The facts of a names request (installed, and upgradable for latest): shared by package and Ansible's apt. */
export function nameFacts(names: readonly string[], state: string, options?: string): Partial<PackageFacts> {
  const f: Partial<PackageFacts> = {};
  if (names.length > 0) f.installed = packagesInstalled([...new Set(names.map((n) => splitPin(n).base))]);
  if (state === 'latest' && names.length > 0) f.upgradable = upgradablePackages('all', options);
  return f;
}

/** Upgrade the installed packages, planned from the package lists the host has now. */
export function planUpgrade(host: HostFacts, kind: UpgradeKind, up: UpgradableInfo | undefined, opts: { update?: boolean; options?: ManagerOptions; factOptions?: string } = {}): Plan {
  if (!up) throw new TaskError('internal: upgradable packages fact missing');
  const what = kind === 'security' ? 'security upgrades' : 'upgrades';
  const steps = upgradeSteps(host, kind, opts);
  const installs = up.packages.filter((p) => p.remove !== true);
  const removals = up.packages.filter((p) => p.remove === true);
  const pending = [installs.length > 0 ? `install ${installs.length} ${what}: ${list(installs.map((p) => p.name))}` : '', removals.length > 0 ? `remove ${list(removals.map((p) => p.name))}` : ''].filter(Boolean).join(', ');
  if (opts.update !== false && up.listsEmpty) return change(`update the package lists and install pending ${what}`, steps);
  if (opts.update === true) return change(`update the package lists, then upgrade (pending in the lists now: ${pending || 'none'})`, steps);
  if (up.packages.length === 0) return ok(`no pending ${what} in the package lists`);
  return change(pending, steps, {
    diffs: [
      {
        label: 'packages',
        before: up.packages.map((p) => `${p.name}\n`).join(''),
        after: installs.map((p) => `${p.name} ${p.version}\n`).join(''),
      },
    ],
    predictions: [{ request: upgradablePackages(kind, opts.factOptions), value: { ...up, packages: [] } } as Prediction],
  });
}

/** Install, upgrade or remove named packages (apt pins `name=VERSION` too). */
export function planNames(
  host: HostFacts,
  names: readonly string[],
  a: { state: 'present' | 'absent' | 'latest'; update: boolean; purge: boolean; options?: ManagerOptions },
  facts: Partial<{ installed: PackagesInfo; upgradable: UpgradableInfo }>,
): Plan {
  const installed = facts.installed;
  if (!installed) throw new TaskError('internal: packages fact missing');
  const installedReq = packagesInstalled([...new Set(names.map((n) => splitPin(n).base))]);
  const versionOf = (n: string): string | undefined => installed[splitPin(n).base]?.version;
  const present = names.filter((n) => versionOf(n) !== undefined);
  const satisfied = (n: string): boolean => {
    const v = versionOf(n);
    const { pin } = splitPin(n);
    return v !== undefined && (pin === undefined || pinMatches(pin, v));
  };
  const desc = (ns: readonly string[]) => ns.map((n) => `${splitPin(n).base} ${versionOf(n) ?? ''}`.trim()).join(', ');

  if (a.state === 'absent') {
    // a pinned name is removed only when that version is installed (Ansible's apt)
    const remove = names.filter(satisfied);
    if (remove.length === 0) return ok(`not installed: ${list(names)}`);
    const bases = remove.map((n) => splitPin(n).base);
    const after: PackagesInfo = { ...installed, ...Object.fromEntries(bases.map((n) => [n, null])) };
    return change(`${a.purge ? 'purge' : 'remove'} ${list(bases)}`, removeSteps(host, bases, { purge: a.purge, ...(a.options ? { options: a.options } : {}) }), {
      diffs: [{ label: 'packages', before: remove.map((n) => `${splitPin(n).base} ${versionOf(n)}\n`).join(''), after: '' }],
      predictions: [{ request: installedReq, value: after } as Prediction],
    });
  }

  const missing = names.filter((n) => !satisfied(n));
  let outdated: string[] = [];
  if (a.state === 'latest') {
    const up = facts.upgradable;
    if (!up) throw new TaskError('internal: upgradable packages fact missing');
    const newer = new Map(up.packages.map((p) => [p.name, p.version]));
    outdated = present.filter((n) => newer.has(n) || newer.has(n.replace(/:[a-z0-9_-]+$/, '')));
  }
  const todo = [...missing, ...outdated];
  if (todo.length === 0) {
    return ok(`installed${a.state === 'latest' ? ' and newest in the package lists' : ''}: ${desc(names)}`);
  }
  const steps: Step[] = installSteps(host, todo, { update: a.update, latest: outdated.length > 0, ...(a.options ? { options: a.options } : {}) });
  const parts = [missing.length > 0 ? `install ${list(missing)}` : '', outdated.length > 0 ? `upgrade ${list(outdated)}` : ''].filter(Boolean);
  const planned = (n: string) => ({ version: splitPin(n).pin?.replace(/\*$/, '') ?? PLANNED });
  const after: PackagesInfo = Object.fromEntries(names.map((n) => [splitPin(n).base, todo.includes(n) ? planned(n) : installed[splitPin(n).base] ?? null]));
  return change(parts.join(', '), steps, {
    diffs: [
      {
        label: 'packages',
        before: todo.filter((n) => versionOf(n) !== undefined).map((n) => `${splitPin(n).base} ${versionOf(n)}\n`).join(''),
        after: todo.map((n) => `${n}\n`).join(''),
      },
    ],
    predictions: [{ request: installedReq, value: after } as Prediction],
  });
}

export const packageTask = defineTask({
  name: 'package',
  description: 'Install, upgrade or remove OS packages (apt, dnf, yum), or upgrade the system (security fixes or all)',
  example: "- name: Web server and tools\n  package: { name: [nginx, curl], state: present, update_cache: true }\n- name: Security fixes now\n  package: { upgrade: security }",
  schema: argsSchema,
  facts(args: PackageArgs): PackageFacts {
    const f = nameFacts(namesOf(args), args.state);
    if (args.upgrade !== undefined) f.upgradable = upgradablePackages(args.upgrade);
    return f as PackageFacts;
  },
  plan(args, allFacts, ctx) {
    const facts: Partial<typeof allFacts> = allFacts;
    const names = namesOf(args);
    if (args.upgrade !== undefined) return planUpgrade(ctx.host, args.upgrade, facts.upgradable);
    if (names.length === 0) return change('update the package lists', updateCacheSteps(ctx.host));
    return planNames(ctx.host, names, { state: args.state, update: args.update_cache, purge: args.purge }, facts);
  },
});

/** yum/dnf repository and exclusion options: a name or a list of names (Ansible also takes a comma-separated string). */
const repoList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

const rpmFields = packageFields
  .omit({ upgrade: true, purge: true })
  .extend({
    name: z
      .union([z.literal('*'), nameArg, z.array(nameArg).min(1)])
      .optional()
      .describe("Package name, or a list of names; `'*'` with state latest upgrades every installed package (dnf upgrade); `name-VERSION` pins a version"),
    exclude: repoList.optional().describe('Packages not to install or upgrade (--exclude=, globs allowed: kernel*)'),
    enablerepo: repoList.optional().describe('Repositories enabled for this task (--enablerepo=)'),
    disablerepo: repoList.optional().describe('Repositories disabled for this task (--disablerepo=)'),
  });

type RpmArgs = z.output<typeof rpmFields>;

const splitList = (v: string | readonly string[] | undefined): string[] =>
  v === undefined ? [] : (typeof v === 'string' ? v.split(',') : [...v]).map((x) => x.trim()).filter(Boolean);

/** `--exclude=kernel* --enablerepo=epel`, quoted. */
export function rpmOptions(a: Pick<RpmArgs, 'exclude' | 'enablerepo' | 'disablerepo'>): string {
  return (['disablerepo', 'enablerepo', 'exclude'] as const)
    .flatMap((k) => splitList(a[k]).map((v) => quote(`--${k}=${v}`)))
    .join(' ');
}

/**
 * Ansible's `dnf` and `yum` modules: package on a host whose package manager
 * is that one (yum also on dnf hosts, where Ansible's yum runs dnf), with
 * name (`'*'` with state latest: upgrade all), state, update_cache, exclude,
 * enablerepo and disablerepo. Their other arguments are refused by name.
 */
function rpmTask(manager: 'dnf' | 'yum') {
  const schema = rpmFields.superRefine((a, ctx) => {
    packageRules('name or update_cache')(a, ctx);
    if (a.name === '*' && a.state !== 'latest') ctx.addIssue({ code: 'custom', message: "name '*' is used with state: latest (upgrade every package)", path: ['name'] });
  });
  const runsOn: readonly string[] = manager === 'yum' ? ['yum', 'dnf'] : [manager];
  return defineTask({
    name: manager,
    description: `Ansible's ${manager} module: package with ${manager}, on hosts whose package manager is ${runsOn.join(' or ')}`,
    example: `- name: chrony installed\n  ${manager}: { name: chrony, state: present, update_cache: true }\n- name: everything upgraded but the kernel\n  ${manager}: { name: '*', state: latest, exclude: 'kernel*' }`,
    schema,
    facts(a): PackageFacts {
      const options = rpmOptions(a) || undefined;
      if (a.name === '*') return { upgradable: upgradablePackages('all', options) } as PackageFacts;
      return nameFacts(namesOf(a as { name?: string | string[] }), a.state, options) as PackageFacts;
    },
    plan(a, allFacts, ctx) {
      if (!runsOn.includes(ctx.host.packageManager)) {
        throw new TaskError(`${manager}: this host's package manager is ${ctx.host.packageManager}, not ${runsOn.join(' or ')} (package: picks the host's own)`);
      }
      const facts: Partial<typeof allFacts> = allFacts;
      const rpm = rpmOptions(a);
      const options: ManagerOptions | undefined = rpm ? { rpm } : undefined;
      if (a.name === '*') return planUpgrade(ctx.host, 'all', facts.upgradable, { update: a.update_cache, ...(options ? { options } : {}), ...(rpm ? { factOptions: rpm } : {}) });
      const names = namesOf(a as { name?: string | string[] });
      if (names.length === 0) return change('update the package lists', updateCacheSteps(ctx.host));
      return planNames(ctx.host, names, { state: a.state, update: a.update_cache, purge: false, ...(options ? { options } : {}) }, facts);
    },
  });
}

export const dnfTask = rpmTask('dnf');
export const yumTask = rpmTask('yum');
