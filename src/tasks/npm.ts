/**
 * `npm` (community.general.npm): a Node.js package, or every dependency of a
 * project's package.json, installed, at its latest version, or removed, with
 * the module's parameters and semantics. What is installed is read with `npm
 * ls --json --long` in `path` (or the global prefix), as the module reads it:
 * a named package is installed when npm lists it neither missing nor invalid
 * (at `version` when given); without a name, every dependency package.json
 * asks for must be. `state: latest` also reads `npm outdated --json` and runs
 * `npm update` for what it lists. `ci: true` installs a project with `npm ci`.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { sh } from '../contract/quote.js';
import { change, defineTask, ok, type Step } from '../contract/task.js';
import { npmOptions, npmState, type NpmArgs, type NpmState } from '../facts/npm.js';

const argsSchema = z
  .object({
    name: z.string().min(1).regex(/^[^\s]+$/, { message: 'one package name or spec, without spaces' }).optional().describe('The package; without it, every dependency of path/package.json'),
    path: z.string().regex(/^\//, { message: 'an absolute path' }).optional().describe('The project directory (required unless global)'),
    version: z.string().min(1).optional().describe('The version to install (name@version)'),
    global: z.boolean().default(false).describe('Install in the global prefix (npm --global)'),
    executable: z.string().min(1).default('npm').describe('The npm command on the host'),
    state: z.enum(['present', 'absent', 'latest']).default('present').describe('present, absent, or latest (npm outdated, then npm update)'),
    production: z.boolean().default(false).describe('Leave devDependencies out (npm --production)'),
    registry: z.string().url().optional().describe('The registry URL (npm --registry=)'),
    ignore_scripts: z.boolean().default(false).describe('npm --ignore-scripts when installing'),
    unsafe_perm: z.boolean().default(false).describe('npm --unsafe-perm when installing'),
    no_optional: z.boolean().default(false).describe('npm --no-optional when installing'),
    no_bin_links: z.boolean().default(false).describe('npm --no-bin-links when installing'),
    force: z.boolean().default(false).describe('npm --force when installing'),
    ci: z.boolean().default(false).describe('Install a project with npm ci (clean install from package-lock.json)'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (!a.path && !a.global) ctx.addIssue({ code: 'custom', message: 'give path, or global: true', path: ['path'] });
    if (a.state === 'absent' && !a.name) ctx.addIssue({ code: 'custom', message: 'state: absent needs name', path: ['name'] });
    if (a.version && !a.name) ctx.addIssue({ code: 'custom', message: 'version needs name', path: ['version'] });
    if (a.ci && a.name) ctx.addIssue({ code: 'custom', message: 'ci installs a whole project: give path without name', path: ['ci'] });
  });

export type NpmTaskArgs = z.output<typeof argsSchema>;

const factArgs = (a: NpmTaskArgs): NpmArgs => ({
  ...(a.path ? { path: a.path } : {}),
  global: a.global,
  executable: a.executable,
  production: a.production,
  outdated: a.state === 'latest',
  ...(a.registry ? { registry: a.registry } : {}),
});

/** One npm command run in `path`, with the task's shared options. */
function npmStep(a: NpmTaskArgs, words: readonly string[], install = false): Step {
  const flags = [
    ...npmOptions(a),
    ...(install && a.ignore_scripts ? ['--ignore-scripts'] : []),
    ...(install && a.unsafe_perm ? ['--unsafe-perm'] : []),
    ...(install && a.no_optional ? ['--no-optional'] : []),
    ...(install && a.no_bin_links ? ['--no-bin-links'] : []),
    ...(install && a.force ? ['--force'] : []),
  ];
  const cd = a.path ? sh`cd ${a.path} && ` : '';
  return { command: `${cd}${sh`${a.executable} ${[...words, ...flags]}`}` };
}

/** The state npm will list once `names` are installed (what a later task of a check run sees). */
const installed = (state: NpmState, names: readonly string[], version?: string): NpmState => ({
  ...state,
  dependencies: { ...state.dependencies, ...Object.fromEntries(names.map((n) => [n, { ...(version ? { version } : {}), missing: false, invalid: false }])) },
  outdated: state.outdated.filter((n) => !names.includes(n)),
});

export const npmTask = defineTask({
  name: 'npm',
  description: 'Install, update or remove a Node.js package, or every dependency of a package.json (npm)',
  example: '- name: App dependencies installed\n  npm: { path: /srv/app, production: true }',
  schema: argsSchema,
  facts: (a) => ({ npm: npmState(factArgs(a)) }),
  plan(a, facts) {
    const state = facts.npm;
    const where = a.global ? 'the global prefix' : (a.path as string);
    const request = npmState(factArgs(a));
    if (a.name) {
      const name = a.name;
      const dep = state.dependencies[name];
      const present = dep !== undefined && !dep.missing && !dep.invalid && (a.version === undefined || dep.version === a.version);
      if (a.state === 'absent') {
        if (dep === undefined || dep.missing) return ok(`${name} is not installed in ${where}`);
        const rest = Object.fromEntries(Object.entries(state.dependencies).filter(([n]) => n !== name));
        return change(`uninstall ${name} from ${where}`, [npmStep(a, ['uninstall', name])], { predictions: [{ request, value: { ...state, dependencies: rest } }] });
      }
      if (!present) {
        const spec = a.version ? `${name}@${a.version}` : name;
        const why = dep === undefined || dep.missing ? 'not installed' : dep.invalid ? `${dep.version ?? '?'} does not satisfy package.json` : `installed at ${dep.version ?? '?'}`;
        return change(`install ${spec} in ${where} (${why})`, [npmStep(a, ['install', spec], true)], { predictions: [{ request, value: installed(state, [name], a.version) }] });
      }
      if (a.state === 'latest' && state.outdated.includes(name)) {
        return change(`update ${name} in ${where} (npm outdated lists it)`, [npmStep(a, ['update', name], true)], { predictions: [{ request, value: installed(state, [name]) }] });
      }
      return ok(`${name} ${dep?.version ?? ''} is installed in ${where}${a.state === 'latest' ? ' and not outdated' : ''}`.replace('  ', ' '));
    }
    if (a.global && !a.path) throw new TaskError('without name, npm installs the dependencies of a project: give path');
    const missing = Object.entries(state.dependencies).filter(([, d]) => d.missing || d.invalid).map(([n]) => n);
    if (missing.length > 0) {
      return change(`${a.ci ? 'npm ci' : 'npm install'} in ${where} (${missing.join(', ')} not installed as package.json asks)`, [npmStep(a, [a.ci ? 'ci' : 'install'], true)], {
        predictions: [{ request, value: installed(state, missing) }],
      });
    }
    if (a.state === 'latest' && state.outdated.length > 0) {
      return change(`npm update in ${where} (${state.outdated.join(', ')} outdated)`, [npmStep(a, ['update'], true)], { predictions: [{ request, value: installed(state, state.outdated) }] });
    }
    return ok(`every dependency of ${where}/package.json is installed${a.state === 'latest' ? ' and none is outdated' : ''}`);
  },
});
