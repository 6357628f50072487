/**
 * `unarchive`: the arguments refused by name, and the comparison and the
 * extraction run by /bin/sh on this machine against real archives: a missing
 * dest, a fresh extraction (changed), the same again (ok), a file edited in
 * dest (changed), creates (skipped), a missing tool (refused naming the
 * package).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { differences, unarchive } from '../../../src/tasks/unarchive.js';
import { absent, ctx, fileWith } from './_helpers.js';

const parse = (raw: unknown) => unarchive.schema.parse(raw);
const invalid = (raw: unknown) => unarchive.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');

function archive(): { dir: string; tgz: string } {
  const dir = mkdtempSync(join(tmpdir(), 'unarchive-test-'));
  mkdirSync(join(dir, 'content', 'app', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'content', 'app', 'README.txt'), 'hello\n');
  writeFileSync(join(dir, 'content', 'app', 'bin', 'run'), '#!/bin/sh\n');
  execFileSync('tar', ['-czf', join(dir, 'app.tgz'), '-C', join(dir, 'content'), 'app']);
  return { dir, tgz: join(dir, 'app.tgz') };
}

const sh = (command: string, env: NodeJS.ProcessEnv = process.env) => spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env });

/** Read the fact with /bin/sh here, as the runner would on the host, and plan. */
async function planHere(raw: unknown, searchDir = '/nonexistent') {
  const a = await unarchive.prepare!(parse(raw), { ...ctx, searchDirs: { templates: [], files: [join(searchDir, 'files'), searchDir] } });
  const req = unarchive.facts(a, ctx).state!;
  const r = sh(req.command);
  const state = req.parse(r.stdout, r.status ?? 1);
  return unarchive.plan(a, { state, ...(a.creates !== undefined ? { creates: absent } : {}) } as never, ctx);
}

describe('unarchive arguments', () => {
  it('takes remote_src or its older spelling copy: false', () => {
    expect(parse({ src: '/a.tgz', dest: '/d', remote_src: true })).toMatchObject({ remote_src: true });
    expect(parse({ src: '/a.tgz', dest: '/d', copy: false })).toMatchObject({ copy: false });
  });
  it('refuses what is not supported, by name', () => {
    expect(invalid({ src: 'https://x/a.tgz', dest: '/d' })).toMatch(/^src: a path \(a URL is not supported/);
    expect(invalid({ src: 'a.tgz', dest: '/d', remote_src: true })).toBe('src: with remote_src: true, src is an absolute path on the host');
    expect(invalid({ src: '/a.rar', dest: '/d', remote_src: true })).toMatch(/^src: cannot tell the archive format/);
    expect(invalid({ src: '/a.tgz', dest: '/d', remote_src: true, extra_opts: ['--strip-components=1'] })).toMatch(/extra_opts/);
    expect(invalid({ src: '/a.tgz', dest: '/d', remote_src: true, copy: false })).toMatch(/give remote_src or copy/);
  });
});

describe('unarchive, compared and extracted by /bin/sh here', () => {
  it('a missing dest is refused as Ansible refuses it', async () => {
    const { dir, tgz } = archive();
    await expect(planHere({ src: tgz, dest: join(dir, 'nope'), remote_src: true })).rejects.toThrow(`dest '${join(dir, 'nope')}' must be an existing dir`);
  });

  it.each([
    ['on the host (remote_src)', true],
    ['from the control machine (files/), sent on stdin', false],
  ])('extracts when dest lacks the files, is ok once it holds them, and again changed after an edit: %s', async (_what, remote) => {
    const { dir, tgz } = archive();
    const dest = join(dir, 'out');
    mkdirSync(dest);
    const raw = remote ? { src: tgz, dest, remote_src: true } : { src: 'app.tgz', dest };
    const p = await planHere(raw, dir);
    expect(p).toMatchObject({ kind: 'change', summary: `unpack ${raw.src} into ${dest}` });
    if (p.kind !== 'change') return;
    const step = p.steps[0]!;
    expect(spawnSync('/bin/sh', ['-c', step.command], { input: step.stdin ?? '', encoding: 'utf8' }).status).toBe(0);
    expect(sh(`cat ${dest}/app/README.txt`).stdout).toBe('hello\n');
    expect(await planHere(raw, dir)).toMatchObject({ kind: 'ok', reason: `${dest} holds what ${raw.src} holds` });
    writeFileSync(join(dest, 'app', 'README.txt'), 'edited\n');
    expect(await planHere(raw, dir)).toMatchObject({ kind: 'change' });
  });

  it('mode is set on every member and judged by the members\' modes', async () => {
    const { dir, tgz } = archive();
    const dest = join(dir, 'out');
    mkdirSync(dest);
    const raw = { src: tgz, dest, remote_src: true, mode: '0755' };
    const p = await planHere(raw);
    if (p.kind !== 'change') throw new Error('expected a change');
    expect(sh(p.steps[0]!.command).status).toBe(0);
    expect(sh(`stat -c %a ${dest}/app/README.txt`).stdout).toBe('755\n');
    expect(await planHere(raw)).toMatchObject({ kind: 'ok' });
  });

  it('creates skips the task; a missing tool is refused naming the package', () => {
    const a = parse({ src: '/x.zip', dest: '/d', remote_src: true, creates: '/d/app' });
    expect(unarchive.plan(a, { state: { kind: 'no-tool' }, creates: fileWith('') } as never, ctx)).toEqual({ kind: 'skip', reason: 'skipped, since /d/app exists' });
    expect(() => unarchive.plan(a, { state: { kind: 'no-tool' }, creates: absent } as never, ctx)).toThrow('unzip is not installed on the host, needed for /x.zip: install the unzip package');
  });

  it('attribute differences of attributes the task sets are judged by the members', () => {
    const a = parse({ src: '/x.tgz', dest: '/d', remote_src: true, owner: 'app' });
    expect(differences(a, { kind: 'compared', differences: ['app/x: Uid differs'], attrs: { 'app/x': 'app:root:644' } })).toEqual([]);
    expect(differences(a, { kind: 'compared', differences: [], attrs: { 'app/x': 'root:root:644' } })).toEqual(['app/x: owner differ']);
  });
});
