/**
 * A git checkout and the commit a remote ref points to (for the `git` task):
 * whether the host has git, whether `dest` is a checkout, its HEAD and
 * whether tracked files were modified, and `git ls-remote` of the wanted
 * version (branch, tag, or HEAD) in the same round trip.
 */
import { FactError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface GitArgs {
  readonly repo: string;
  readonly dest: string;
  /** Branch, tag or HEAD to resolve on the remote; undefined: a commit id, nothing to resolve. */
  readonly ref?: string;
  /** Environment for git's ssh: `GIT_SSH_COMMAND=...` (accept_hostkey). */
  readonly sshCommand: string;
}

export type GitState =
  | { readonly git: false }
  | {
      readonly git: true;
      /** HEAD of the checkout at dest; undefined when dest is not a checkout. */
      readonly head?: string;
      /** Tracked files differ from HEAD. */
      readonly modified: boolean;
      /** The remote URL of origin in the checkout. */
      readonly origin?: string;
      /** `ls-remote` of the ref: refs by name → commit (tags peeled under NAME^{}). */
      readonly remote: Readonly<Record<string, string>>;
    };

/** Environment every git command of the task runs with: never prompt. */
export const gitEnv = (sshCommand: string): string => `GIT_TERMINAL_PROMPT=0 GIT_SSH_COMMAND=${quote(sshCommand)}`;

function command(a: GitArgs): string {
  const d = quote(a.dest);
  const refs = a.ref === undefined ? '' : a.ref === 'HEAD' ? ' HEAD' : ` ${quote(`refs/heads/${a.ref}`)} ${quote(`refs/tags/${a.ref}`)} ${quote(`refs/tags/${a.ref}^{}`)}`;
  return [
    `if ! command -v git >/dev/null 2>&1; then echo nogit; exit 0; fi`,
    `if [ -e ${d}/.git ]; then`,
    `  echo "head=$(git -C ${d} rev-parse HEAD 2>/dev/null)"`,
    `  echo "origin=$(git -C ${d} config --get remote.origin.url)"`,
    `  if [ -n "$(git -C ${d} status --porcelain --untracked-files=no 2>/dev/null)" ]; then echo modified=1; fi`,
    `fi`,
    ...(a.ref === undefined ? [] : [`echo ls-remote`, `${gitEnv(a.sshCommand)} git ls-remote -- ${quote(a.repo)}${refs} || exit 2`]),
  ].join('\n');
}

/** Pure parser of the fact command's output. */
export function parseGitState(stdout: string, a: GitArgs, exitCode = 0): GitState {
  if (stdout.startsWith('nogit')) return { git: false };
  if (exitCode !== 0) throw new FactError('git', `git ls-remote ${a.repo} failed (exit ${exitCode})`);
  const lines = stdout.split('\n');
  const get = (k: string): string | undefined => lines.find((l) => l.startsWith(`${k}=`))?.slice(k.length + 1) || undefined;
  const remote: Record<string, string> = {};
  const at = lines.indexOf('ls-remote');
  if (at >= 0) {
    for (const l of lines.slice(at + 1)) {
      const m = /^([0-9a-f]{40,64})\t(\S+)$/.exec(l);
      if (m) remote[m[2] as string] = m[1] as string;
    }
  }
  const head = get('head');
  const origin = get('origin');
  return { git: true, ...(head ? { head } : {}), ...(origin ? { origin } : {}), modified: get('modified') === '1', remote };
}

export const gitFact: Fact<GitArgs, GitState> = {
  name: 'git',
  command,
  parse: (stdout, args, exitCode) => parseGitState(stdout, args, exitCode),
};

export const gitStateOf = (a: GitArgs): FactRequest<GitState> => req(gitFact, a);
