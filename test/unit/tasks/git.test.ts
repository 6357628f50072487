/**
 * `git`: the version resolved from ls-remote (branch, peeled tag, HEAD,
 * commit id), the plan from hand-made checkout facts (clone, up to date,
 * update, update: false, local modifications with and without force), the
 * arguments refused by name, and the fact's parser.
 */
import { describe, expect, it } from 'vitest';
import { parseGitState } from '../../../src/facts/git.js';
import { git, resolveVersion } from '../../../src/tasks/git.js';
import { ctx } from './_helpers.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const parse = (raw: unknown) => git.schema.parse(raw);
const invalid = (raw: unknown) => git.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
const remote = { HEAD: A, 'refs/heads/main': A, 'refs/heads/dev': B, 'refs/tags/v1': C, 'refs/tags/v2': B, 'refs/tags/v2^{}': A };
const state = (over: object = {}) => ({ state: { git: true, modified: false, remote, ...over } }) as never;

describe('git arguments', () => {
  it('defaults version to HEAD, update true, force false', () => {
    expect(parse({ repo: 'file:///srv/r.git', dest: '/srv/app' })).toMatchObject({ version: 'HEAD', update: true, force: false, accept_hostkey: false });
  });
  it('refuses what is not supported, by name', () => {
    expect(invalid({ repo: 'r', dest: '/a', version: 'abc1234' })).toMatch(/abbreviated commit id is not supported/);
    expect(invalid({ repo: 'r', dest: '/a', bare: true })).toMatch(/bare/);
    expect(invalid({ repo: 'r', dest: '/a', key_file: '/k' })).toMatch(/key_file/);
    expect(invalid({ repo: 'r', dest: 'rel' })).toMatch(/absolute path/);
  });
});

describe('git version', () => {
  it('resolves a branch, a tag (peeled when annotated), HEAD, and takes a commit id as it is', () => {
    expect(resolveVersion(parse({ repo: 'r', dest: '/a', version: 'dev' }), remote)).toEqual({ sha: B, branch: true });
    expect(resolveVersion(parse({ repo: 'r', dest: '/a', version: 'v1' }), remote)).toEqual({ sha: C, branch: false });
    expect(resolveVersion(parse({ repo: 'r', dest: '/a', version: 'v2' }), remote)).toEqual({ sha: A, branch: false });
    expect(resolveVersion(parse({ repo: 'r', dest: '/a' }), remote)).toEqual({ sha: A, branch: false });
    expect(resolveVersion(parse({ repo: 'r', dest: '/a', version: C }), {})).toEqual({ sha: C, branch: false });
    expect(() => resolveVersion(parse({ repo: 'r', dest: '/a', version: 'nope' }), remote)).toThrow('version nope is neither a branch nor a tag of r');
  });
});

describe('git planner', () => {
  const a = parse({ repo: 'file:///srv/r.git', dest: '/srv/app', version: 'dev', depth: 1 });
  it('clones when dest is no checkout, at the branch', () => {
    const p = git.plan(a, state(), ctx);
    expect(p).toMatchObject({ kind: 'change', summary: `clone file:///srv/r.git into /srv/app at dev (${B})`, data: { before: null, after: B } });
    if (p.kind !== 'change') return;
    expect(p.steps[0]?.command).toContain(`git clone --depth 1 --branch dev -- file:///srv/r.git /srv/app && `);
    expect(p.steps[0]?.command).toContain(`git -C /srv/app checkout --force -B dev ${B}`);
  });
  it('is ok when HEAD is the remote commit; fetches and checks out when not', () => {
    expect(git.plan(a, state({ head: B }), ctx)).toMatchObject({ kind: 'ok', reason: `/srv/app is at dev (${B})`, data: { before: B, after: B } });
    const p = git.plan(a, state({ head: A }), ctx);
    expect(p).toMatchObject({ kind: 'change', summary: `update /srv/app at dev (${B})` });
    if (p.kind === 'change') expect(p.steps[0]?.command).toContain("git -C /srv/app fetch --depth 1 --tags origin '+refs/heads/*:refs/remotes/origin/*'");
  });
  it('update: false leaves a checkout alone', () => {
    expect(git.plan(parse({ repo: 'r', dest: '/srv/app', update: false }), state({ head: C }), ctx)).toMatchObject({ kind: 'ok', reason: '/srv/app is a checkout (update: false)' });
  });
  it('local modifications fail the task unless force, which discards them', () => {
    expect(() => git.plan(a, state({ head: A, modified: true }), ctx)).toThrow('Local modifications exist in the destination: /srv/app (force: false)');
    const f = parse({ repo: 'file:///srv/r.git', dest: '/srv/app', version: 'dev', force: true });
    expect(git.plan(f, state({ head: B, modified: true }), ctx)).toMatchObject({ kind: 'change' });
  });
  it('refuses a host without git, naming the package', () => {
    expect(() => git.plan(a, { state: { git: false } } as never, ctx)).toThrow('git is not installed on the host: install the git package first');
  });
});

describe('git fact', () => {
  const args = { repo: 'r', dest: '/a', ref: 'main', sshCommand: 'ssh' };
  it('parses the checkout and ls-remote', () => {
    expect(parseGitState(`head=${A}\norigin=r\nmodified=1\nls-remote\n${A}\tHEAD\n${B}\trefs/heads/main\n`, args)).toEqual({ git: true, head: A, origin: 'r', modified: true, remote: { HEAD: A, 'refs/heads/main': B } });
    expect(parseGitState(`ls-remote\n${B}\trefs/heads/main\n`, args)).toEqual({ git: true, modified: false, remote: { 'refs/heads/main': B } });
    expect(parseGitState('nogit\n', args)).toEqual({ git: false });
    expect(() => parseGitState('ls-remote\n', args, 2)).toThrow('git ls-remote r failed (exit 2)');
  });
});
