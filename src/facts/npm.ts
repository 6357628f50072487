/**
 * npm's view of a project directory (or of the global prefix): `npm ls --json
 * --long` lists the packages package.json asks for, with `missing`/`invalid`
 * for those not installed as asked; `npm outdated --json` (only for `state:
 * latest`) names the ones the registry has newer versions of. As Ansible's npm
 * module reads them. npm exits 1 when it finds problems: the JSON is read
 * whatever the exit code.
 */
import { TaskError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { sh } from '../contract/quote.js';
import { outputSections } from './sections.js';

export interface NpmArgs {
  /** Project directory; undefined with global. */
  readonly path?: string;
  readonly global: boolean;
  /** The npm command (Ansible's `executable`), default `npm`. */
  readonly executable: string;
  readonly production: boolean;
  /** Also read `npm outdated`. */
  readonly outdated: boolean;
  readonly registry?: string;
}

export interface NpmDependency {
  readonly version?: string;
  /** package.json asks for it and it is not installed. */
  readonly missing: boolean;
  /** Installed at a version package.json does not accept. */
  readonly invalid: boolean;
}

export interface NpmState {
  readonly dependencies: Readonly<Record<string, NpmDependency>>;
  /** Names `npm outdated` lists (empty unless asked). */
  readonly outdated: readonly string[];
}

/** The npm command line options every call of a task shares. */
export function npmOptions(a: Pick<NpmArgs, 'global' | 'production' | 'registry'>): string[] {
  return [...(a.global ? ['--global'] : []), ...(a.production ? ['--production'] : []), ...(a.registry ? [`--registry=${a.registry}`] : [])];
}

function parseJson(text: string, what: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    throw new TaskError(`cannot read the output of ${what}: ${text.slice(0, 200)}`);
  }
}

/** Pure. */
export function parseNpmState(stdout: string, args: NpmArgs): NpmState {
  const s = outputSections(stdout);
  if (s.has('no_npm')) throw new TaskError(`${args.executable} not found on the host: install Node.js and npm first`);
  if (s.has('no_path')) throw new TaskError(`path ${args.path ?? ''} does not exist on the host`);
  const ls = s.get('ls');
  if (ls === undefined) throw new TaskError(`unexpected output from ${args.executable} ls: ${stdout.slice(0, 200)}`);
  const deps = parseJson(ls.join('\n'), `${args.executable} ls --json`).dependencies;
  const dependencies: Record<string, NpmDependency> = {};
  if (deps !== null && typeof deps === 'object') {
    for (const [name, d] of Object.entries(deps as Record<string, Record<string, unknown>>)) {
      dependencies[name] = {
        ...(typeof d.version === 'string' ? { version: d.version } : {}),
        missing: d.missing === true || (d.version === undefined && d.required !== undefined),
        invalid: d.invalid === true || (typeof d.invalid === 'string' && d.invalid !== ''),
      };
    }
  }
  const outdated = Object.keys(parseJson((s.get('outdated') ?? []).join('\n'), `${args.executable} outdated --json`));
  return { dependencies, outdated };
}

export const npmFact: Fact<NpmArgs, NpmState> = {
  name: 'npm',
  command: (a) => {
    const opts = npmOptions(a);
    return [
      sh`command -v ${a.executable} >/dev/null 2>&1 || { echo __no_npm; exit 0; }`,
      ...(a.path ? [sh`cd ${a.path} 2>/dev/null || { echo __no_path; exit 0; }`] : []),
      'echo __ls',
      sh`${a.executable} ${['ls', '--json', '--long', ...opts]} 2>/dev/null`,
      ...(a.outdated ? ['echo __outdated', sh`${a.executable} ${['outdated', '--json', ...opts]} 2>/dev/null`] : []),
      'true',
    ].join('\n');
  },
  parse: (stdout, args) => parseNpmState(stdout, args),
};

export const npmState = (args: NpmArgs): FactRequest<NpmState> => req(npmFact, args);
