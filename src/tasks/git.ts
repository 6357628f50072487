/**
 * `git` (ansible.builtin.git): a checkout of `repo` at `version` in `dest`.
 * Idempotent as Ansible is: the commit `version` names on the remote (`git
 * ls-remote`: a branch, a tag, or HEAD; a full commit id as it is) is compared
 * with `git rev-parse HEAD` in dest; they differ: clone, or fetch and check
 * that commit out. A branch is checked out as that branch (reset to the
 * remote's), a tag or a commit detached.
 *
 * - `update: false`: an existing checkout is left as it is.
 * - tracked files modified in dest: the task fails unless `force: true`,
 *   which discards the modifications (as Ansible's force).
 * - `depth`: a shallow clone and fetch.
 * - `accept_hostkey`: ssh accepts an unknown host key of the git server;
 *   without it an unknown key fails (git never prompts).
 *
 * Not supported, refused by name: a remote other than origin (`remote`),
 * `clone: false`, `bare`, `recursive`/submodules options, `key_file`,
 * `ssh_opts`, `refspec`, `archive`, `separate_git_dir`, `verify_commit`,
 * `track_submodules`, `executable`, `umask`, `gpg_whitelist`,
 * `single_branch`, `version` as an abbreviated commit id.
 */
import { z } from 'zod';
import { TaskError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { change, defineTask, ok, type Step } from '../contract/task.js';
import { gitEnv, gitStateOf, type GitArgs } from '../facts/git.js';

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

const argsSchema = z
  .object({
    repo: z.string().min(1).regex(/^[^\s-][^\s]*$/, 'a repository URL or path').describe('Repository URL (https://, ssh://, git@host:path, file://) or path on the host'),
    dest: z.string().regex(/^\/[^\r\n]*[^/\r\n]$|^\/$/, 'an absolute path').describe('Absolute path of the checkout on the host'),
    version: z
      .string()
      .min(1)
      .regex(/^(?!-)[^\s~^:?*[\\]+$/, 'a branch, a tag, HEAD or a full commit id')
      .refine((v) => !/^[0-9a-f]{7,39}$/.test(v), 'an abbreviated commit id is not supported: give the full 40-hex commit id, a branch or a tag')
      .default('HEAD')
      .describe('Branch, tag, HEAD, or a full commit id'),
    update: z.boolean().default(true).describe('false: leave an existing checkout as it is'),
    force: z.boolean().default(false).describe('Discard modifications of tracked files in dest (otherwise they fail the task)'),
    depth: z.number().int().min(1).optional().describe('Shallow clone with this many commits'),
    accept_hostkey: z.boolean().default(false).describe("Accept the git server's ssh host key when it is not known yet"),
  })
  .strict();

export type GitTaskArgs = z.output<typeof argsSchema>;

const isSha = (v: string): boolean => FULL_SHA.test(v);

const factArgs = (a: GitTaskArgs): GitArgs => ({
  repo: a.repo,
  dest: a.dest,
  ...(isSha(a.version) ? {} : { ref: a.version }),
  sshCommand: `ssh -o BatchMode=yes${a.accept_hostkey ? ' -o StrictHostKeyChecking=no' : ''}`,
});

/** The commit `version` names on the remote, and whether it is a branch. */
export function resolveVersion(a: GitTaskArgs, remote: Readonly<Record<string, string>>): { sha: string; branch: boolean } {
  if (isSha(a.version)) return { sha: a.version, branch: false };
  if (a.version === 'HEAD') {
    const sha = remote.HEAD;
    if (sha === undefined) throw new TaskError(`${a.repo} has no HEAD (an empty repository?)`);
    return { sha, branch: false };
  }
  const branch = remote[`refs/heads/${a.version}`];
  if (branch !== undefined) return { sha: branch, branch: true };
  const tag = remote[`refs/tags/${a.version}^{}`] ?? remote[`refs/tags/${a.version}`];
  if (tag !== undefined) return { sha: tag, branch: false };
  throw new TaskError(`version ${a.version} is neither a branch nor a tag of ${a.repo}`);
}

/** The commands that bring dest to `sha`: a clone when there is no checkout, else a fetch and checkout. */
function checkoutSteps(a: GitTaskArgs, target: { sha: string; branch: boolean }, cloned: boolean): Step[] {
  const env = gitEnv(factArgs(a).sshCommand);
  const d = quote(a.dest);
  const depth = a.depth !== undefined ? ` --depth ${a.depth}` : '';
  const checkout = target.branch ? `git -C ${d} checkout --force -B ${quote(a.version)} ${target.sha}` : `git -C ${d} checkout --force --detach ${target.sha}`;
  const get = cloned
    ? `${env} git -C ${d} fetch${depth} --tags origin ${quote('+refs/heads/*:refs/remotes/origin/*')}`
    : `${env} git clone${depth}${target.branch || (a.version !== 'HEAD' && !isSha(a.version)) ? ` --branch ${quote(a.version)}` : ''} -- ${quote(a.repo)} ${d}`;
  // a commit id the fetch did not bring (not a branch or tag tip) is fetched by id
  const byId = `if ! git -C ${d} cat-file -e ${target.sha}^{commit} 2>/dev/null; then ${env} git -C ${d} fetch${depth} origin ${target.sha}; fi`;
  return [{ command: [get, byId, checkout].join(' && ') }];
}

export const git = defineTask({
  name: 'git',
  description: 'A checkout of a git repository at a branch, tag or commit, idempotent by comparing HEAD with the remote ref (git ls-remote)',
  example:
    '- name: App source\n  git:\n    repo: https://github.com/example/app.git\n    dest: /srv/app\n    version: v1.4.2\n    depth: 1\n  register: app_updated',
  schema: argsSchema,
  facts: (a) => ({ state: gitStateOf(factArgs(a)) }),
  plan(a, facts) {
    const cur = facts.state;
    if (!cur.git) throw new TaskError('git is not installed on the host: install the git package first');
    const before = cur.head ?? null;
    if (cur.head !== undefined && !a.update) return ok(`${a.dest} is a checkout (update: false)`, { before, after: before });
    const target = resolveVersion(a, cur.remote);
    const data = { before, after: target.sha };
    if (cur.head === target.sha && !(cur.modified && a.force)) return ok(`${a.dest} is at ${a.version} (${target.sha})`, data);
    if (cur.head !== undefined && cur.modified && !a.force) throw new TaskError(`Local modifications exist in the destination: ${a.dest} (force: false)`);
    const what = cur.head === undefined ? `clone ${a.repo} into ${a.dest}` : `update ${a.dest}`;
    return change(`${what} at ${a.version} (${target.sha})`, checkoutSteps(a, target, cur.head !== undefined), {
      diffs: [{ label: a.dest, before: before === null ? 'absent\n' : `${before}\n`, after: `${target.sha}\n` }],
      predictions: [{ request: gitStateOf(factArgs(a)), value: { ...cur, head: target.sha, modified: false } }],
      data,
    });
  },
});
