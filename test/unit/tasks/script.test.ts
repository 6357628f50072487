/**
 * `script`: the arguments (free form, cmd, args), the plan from hand-made
 * guard facts, and the step itself run by /bin/sh on this machine: the
 * arguments are shell text as in Ansible, the exit code is the script's, the
 * temporary copy is gone afterwards, chdir and executable apply.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { script, scriptStep, splitScriptLine } from '../../../src/tasks/script.js';
import { absent, ctx, ctxOf, fileWith, host } from './_helpers.js';

const parse = (raw: unknown) => script.schema.parse(raw);

function run(text: string, a: { cmd: string; executable?: string; chdir?: string }, env: Record<string, string> = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'script-test-'));
  const step = scriptStep(text, a);
  const r = spawnSync('/bin/sh', ['-c', step.command], { input: step.stdin, encoding: 'utf8', env: { ...process.env, TMPDIR: tmp, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, left: readdirSync(tmp) };
}

describe('script arguments', () => {
  it('takes the free form, cmd, and refuses unknown keys by name', () => {
    expect(parse('random.sh 1 2')).toMatchObject({ cmd: 'random.sh 1 2' });
    expect(parse({ cmd: 'a.sh', creates: '/x', chdir: '/tmp', executable: 'bash' })).toMatchObject({ cmd: 'a.sh', creates: '/x' });
    expect(script.schema.safeParse({ cmd: 'a.sh', decrypt: true }).error?.issues[0]?.message).toMatch(/decrypt/);
  });

  it('splits the script path from its arguments, honouring quotes in the path', () => {
    expect(splitScriptLine('random.sh')).toEqual({ path: 'random.sh', args: '' });
    expect(splitScriptLine("  'my dir/x.sh'  --a \"b c\" $HOME")).toEqual({ path: 'my dir/x.sh', args: '--a "b c" $HOME' });
  });
});

describe('script planner', () => {
  const withText = (raw: unknown) => ({ ...parse(raw), script: 'echo hi\n' });
  it('is skipped (as Ansible reports it) when creates exists or removes does not', () => {
    expect(script.plan(withText({ cmd: 'a.sh', creates: '/done' }), { creates: fileWith('') } as never, ctx)).toMatchObject({ kind: 'skip', reason: 'skipped, since /done exists' });
    expect(script.plan(withText({ cmd: 'a.sh', removes: '/todo' }), { removes: absent } as never, ctx)).toMatchObject({ kind: 'skip', reason: 'skipped, since /todo does not exist' });
  });

  it('otherwise runs the script, sent on stdin', () => {
    const p = script.plan(withText({ cmd: 'a.sh x', creates: '/done' }), { creates: absent } as never, ctx);
    expect(p).toMatchObject({ kind: 'change', summary: 'run script: a.sh x', steps: [{ stdin: 'echo hi\n' }] });
  });

  it('reads the script from files/ beside the playbook in prepare', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'script-files-'));
    writeFileSync(join(dir, 'r.sh'), '#!/bin/sh\necho 10\n');
    const a = await script.prepare!(parse('r.sh'), { ...ctxOf(host), searchDirs: { templates: [], files: [join(dir, 'files'), dir] } });
    expect(a.script).toBe('#!/bin/sh\necho 10\n');
    await expect(script.prepare!(parse('nope.sh'), ctx)).rejects.toThrow(/cannot find src nope.sh/);
  });
});

describe('script step, run by /bin/sh here', () => {
  it('passes the arguments as shell text, keeps the exit code, and removes its temporary copy', () => {
    const r = run('#!/bin/sh\nprintf "%s|" "$@"; exit 3\n', { cmd: 'x.sh one "two words" $FOO' }, { FOO: 'expanded' });
    expect(r).toMatchObject({ code: 3, stdout: 'one|two words|expanded|', left: [] });
  });

  it('runs with executable, in chdir', () => {
    const r = run('echo "$0 in $(pwd)"\n', { cmd: 'x.sh', executable: 'bash', chdir: '/' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/provision-script\.\w+ in \/\n$/);
  });
});
