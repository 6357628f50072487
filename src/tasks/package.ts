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
import { change, defineTask, ok, type Prediction, type Step } from '../contract/task.js';
import type { FactRequest } from '../contract/fact.js';
import {
  packagesInstalled,
  upgradablePackages,
  type PackagesInfo,
  type UpgradableInfo,
} from '../facts/packages.js';
import { installSteps, removeSteps, updateCacheSteps, upgradeSteps } from './lib/packages.js';

/** Debian and RPM package names (an apt `:arch` suffix allowed); never an option or a glob. */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._~-]*(:[a-z0-9_-]+)?$/;

const nameArg = z.string().regex(PACKAGE_NAME, 'not a package name');

/** package's arguments; apt, dnf and yum take the ones Ansible's modules of those names share with it. */
const packageFields = z
  .object({
    name: z
      .union([nameArg, z.array(nameArg).min(1)])
      .optional()
      .describe('Package name, or a list of names (installed or removed in one command)'),
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
const packageRules =
  (needs: string) =>
  (a: { name?: unknown; state: string; update_cache: boolean; upgrade?: string; purge?: boolean }, ctx: z.RefinementCtx): void => {
    if (a.upgrade !== undefined && a.name !== undefined) ctx.addIssue({ code: 'custom', message: 'upgrade is used alone, without name', path: ['upgrade'] });
    if (a.name === undefined && a.upgrade === undefined && !a.update_cache) ctx.addIssue({ code: 'custom', message: `give ${needs}`, path: ['name'] });
    if (a.purge === true && a.state !== 'absent') ctx.addIssue({ code: 'custom', message: 'purge is only used with state: absent', path: ['purge'] });
  };

const argsSchema = packageFields.superRefine(packageRules('name, upgrade, or update_cache'));

export type PackageArgs = z.output<typeof argsSchema>;

const namesOf = (a: PackageArgs): string[] => (a.name === undefined ? [] : [...new Set(typeof a.name === 'string' ? [a.name] : a.name)]);

/** Only the facts these arguments need are requested: the planner reads them as optional. */
type PackageFacts = { installed: FactRequest<PackagesInfo>; upgradable: FactRequest<UpgradableInfo> };

const list = (names: readonly string[]): string => names.join(', ');

const PLANNED = '(planned)';

export const packageTask = defineTask({
  name: 'package',
  description: 'Install, upgrade or remove OS packages (apt, dnf, yum), or upgrade the system (security fixes or all)',
  example: "- name: Web server and tools\n  package: { name: [nginx, curl], state: present, update_cache: true }\n- name: Security fixes now\n  package: { upgrade: security }",
  schema: argsSchema,
  facts(args: PackageArgs): PackageFacts {
    const names = namesOf(args);
    const f: Partial<PackageFacts> = {};
    if (names.length > 0) f.installed = packagesInstalled(names);
    if (args.upgrade !== undefined) f.upgradable = upgradablePackages(args.upgrade);
    else if (args.state === 'latest' && names.length > 0) f.upgradable = upgradablePackages('all');
    return f as PackageFacts;
  },
  plan(args, allFacts, ctx) {
    const facts: Partial<typeof allFacts> = allFacts;
    const names = namesOf(args);
    const host = ctx.host;
    if (args.upgrade !== undefined) {
      const up = facts.upgradable;
      if (!up) throw new TaskError('internal: upgradable packages fact missing');
      const what = args.upgrade === 'security' ? 'security upgrades' : 'upgrades';
      const steps = upgradeSteps(host, args.upgrade);
      if (up.listsEmpty) return change(`update the package lists and install pending ${what}`, steps);
      if (up.packages.length === 0) return ok(`no pending ${what} in the package lists`);
      const pkgs = up.packages.map((p) => p.name);
      return change(`install ${up.packages.length} ${what}: ${list(pkgs)}`, steps, {
        diffs: [
          {
            label: 'packages',
            before: up.packages.map((p) => `${p.name}\n`).join(''),
            after: up.packages.map((p) => `${p.name} ${p.version}\n`).join(''),
          },
        ],
        predictions: [{ request: upgradablePackages(args.upgrade), value: { ...up, packages: [] } } as Prediction],
      });
    }
    if (names.length === 0) return change('update the package lists', updateCacheSteps(host));

    const installedReq = packagesInstalled(names);
    const installed = facts.installed;
    if (!installed) throw new TaskError('internal: packages fact missing');
    const present = names.filter((n) => installed[n]);
    const missing = names.filter((n) => !installed[n]);
    const desc = (ns: readonly string[]) => ns.map((n) => `${n} ${installed[n]?.version ?? ''}`.trim()).join(', ');

    if (args.state === 'absent') {
      if (present.length === 0) return ok(`not installed: ${list(names)}`);
      const after: PackagesInfo = Object.fromEntries(names.map((n) => [n, null]));
      return change(`${args.purge ? 'purge' : 'remove'} ${list(present)}`, removeSteps(host, present, { purge: args.purge }), {
        diffs: [{ label: 'packages', before: present.map((n) => `${n} ${installed[n]?.version}\n`).join(''), after: '' }],
        predictions: [{ request: installedReq, value: after } as Prediction],
      });
    }

    let outdated: string[] = [];
    if (args.state === 'latest') {
      const up = facts.upgradable;
      if (!up) throw new TaskError('internal: upgradable packages fact missing');
      const newer = new Map(up.packages.map((p) => [p.name, p.version]));
      outdated = present.filter((n) => newer.has(n) || newer.has(n.replace(/:[a-z0-9_-]+$/, '')));
    }
    const todo = [...missing, ...outdated];
    if (todo.length === 0) {
      return ok(`installed${args.state === 'latest' ? ' and newest in the package lists' : ''}: ${desc(names)}`);
    }
    const steps: Step[] = installSteps(host, todo, { update: args.update_cache, latest: outdated.length > 0 });
    const parts = [missing.length > 0 ? `install ${list(missing)}` : '', outdated.length > 0 ? `upgrade ${list(outdated)}` : ''].filter(Boolean);
    const after: PackagesInfo = Object.fromEntries(names.map((n) => [n, todo.includes(n) ? { version: PLANNED } : installed[n] ?? null]));
    return change(parts.join(', '), steps, {
      diffs: [
        {
          label: 'packages',
          before: todo.filter((n) => installed[n]).map((n) => `${n} ${installed[n]?.version}\n`).join(''),
          after: todo.map((n) => `${n}\n`).join(''),
        },
      ],
      predictions: [{ request: installedReq, value: after } as Prediction],
    });
  },
});

/**
 * Ansible's `apt`, `dnf` and `yum` modules: package on a host whose package
 * manager is that one (yum also on dnf hosts, where Ansible's yum runs dnf),
 * with the arguments they share with it (name, state present/absent/latest,
 * update_cache; purge for apt). Their other arguments (cache_valid_time,
 * autoremove, upgrade: dist, enablerepo...) are refused by name.
 */
function managerTask(manager: 'apt' | 'dnf' | 'yum') {
  const schema = (manager === 'apt' ? packageFields.omit({ upgrade: true }) : packageFields.omit({ upgrade: true, purge: true })).superRefine(packageRules('name or update_cache'));
  const runsOn: readonly string[] = manager === 'yum' ? ['yum', 'dnf'] : [manager];
  const asPackage = (a: z.output<typeof schema>): PackageArgs => ({ purge: false, ...a });
  return defineTask({
    name: manager,
    description: `Ansible's ${manager} module: package with ${manager}, on hosts whose package manager is ${runsOn.join(' or ')}`,
    example: `- name: chrony installed\n  ${manager}: { name: chrony, state: present, update_cache: true }\n- ${manager}: name=tree state=absent`,
    schema,
    facts: (a, ctx) => packageTask.facts(asPackage(a), ctx),
    plan(a, facts, ctx) {
      if (!runsOn.includes(ctx.host.packageManager)) {
        throw new TaskError(`${manager}: this host's package manager is ${ctx.host.packageManager}, not ${runsOn.join(' or ')} (package: picks the host's own)`);
      }
      return packageTask.plan(asPackage(a), facts, ctx);
    },
  });
}

export const aptTask = managerTask('apt');
export const dnfTask = managerTask('dnf');
export const yumTask = managerTask('yum');
