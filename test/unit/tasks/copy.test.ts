import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy } from '../../../src/tasks/copy.js';
import { fileFact, parseFileFact } from '../../../src/facts/files.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import type { Plan, Step } from '../../../src/contract/task.js';
import { absent, ctx, dirInfo, fileWith } from './_helpers.js';

const parse = (v: unknown) => copy.schema.parse(v);
const steps = (p: Plan): readonly Step[] => (p.kind === 'change' ? p.steps : []);

describe('copy planner', () => {
  it('no change when content and attributes match', () => {
    const a = parse({ dest: '/etc/motd', content: 'hello\n', mode: '0644', owner: 'root' });
    expect(copy.plan(a, { dest: fileWith('hello\n') }, ctx)).toEqual({ kind: 'ok', reason: '/etc/motd has the requested content and attributes' });
  });

  it('creates a missing file atomically with diff and prediction', () => {
    const a = parse({ dest: '/etc/motd', content: 'hello\n', mode: '0640', owner: 'root', group: 'adm' });
    const plan = copy.plan(a, { dest: absent }, ctx);
    expect(plan.kind).toBe('change');
    if (plan.kind !== 'change') return;
    expect(plan.summary).toBe('create /etc/motd');
    expect(plan.steps).toEqual(writeFileSteps({ path: '/etc/motd', content: 'hello\n', mode: '0640', owner: 'root', group: 'adm', backup: false }));
    expect(plan.diffs).toEqual([{ label: '/etc/motd', before: '', after: 'hello\n' }]);
    expect(plan.predictions).toHaveLength(1);
    expect(plan.predictions?.[0]?.request.id).toBe('file:/etc/motd');
    expect(plan.predictions?.[0]?.value).toEqual({
      exists: true,
      type: 'file',
      mode: '0640',
      owner: 'root',
      group: 'adm',
      uid: 0,
      gid: -1,
      size: 6,
      content: 'hello\n',
      sha256: '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
    });
  });

  it('updates changed content: diff, backup, validate', () => {
    const a = parse({ dest: '/etc/sudoers.d/deploy', content: 'deploy ALL=(ALL) NOPASSWD: ALL\n', backup: true, validate: 'visudo -cf %s', mode: '0440' });
    const plan = copy.plan(a, { dest: fileWith('deploy ALL=(ALL) ALL\n', { mode: '0440' }) }, ctx);
    expect(plan).toMatchObject({
      kind: 'change',
      summary: 'update /etc/sudoers.d/deploy',
      diffs: [{ label: '/etc/sudoers.d/deploy', before: 'deploy ALL=(ALL) ALL\n', after: 'deploy ALL=(ALL) NOPASSWD: ALL\n' }],
    });
    const cmd = steps(plan)[0]?.command ?? '';
    expect(cmd).toContain(`if ! ( visudo -cf "$tmp" ) </dev/null; then`);
    expect(cmd).toContain(`cp -p -- /etc/sudoers.d/deploy /etc/sudoers.d/deploy."$(date +%Y%m%dT%H%M%S)".bak`);
    expect(cmd).toContain('chmod 0440 "$tmp"');
  });

  it('only attributes differ: chown/chmod, no rewrite', () => {
    const a = parse({ dest: '/etc/app.conf', content: 'x=1\n', mode: 600, owner: 'app' });
    const plan = copy.plan(a, { dest: fileWith('x=1\n', { mode: '0644' }) }, ctx);
    expect(plan).toEqual({
      kind: 'change',
      summary: 'set mode, owner of /etc/app.conf',
      steps: [{ command: 'chown app /etc/app.conf && chmod 0600 /etc/app.conf' }],
      diffs: [{ label: '/etc/app.conf (attributes)', before: 'owner: root\nmode: 0644\n', after: 'owner: app\nmode: 0600\n' }],
      predictions: [{ request: expect.objectContaining({ id: 'file:/etc/app.conf' }), value: { ...fileWith('x=1\n'), mode: '0600', owner: 'app', uid: -1 } }],
    });
  });

  it('compares by sha256 when the content was not read (large or binary)', () => {
    const big = 'a'.repeat(10);
    const { content: _omit, ...noContent } = fileWith(big);
    expect(copy.plan(parse({ dest: '/x', content: big }), { dest: noContent }, ctx).kind).toBe('ok');
    const plan = copy.plan(parse({ dest: '/x', content: 'b' }), { dest: noContent }, ctx);
    expect(plan).toMatchObject({ kind: 'change', diffs: [{ before: '(10 bytes, binary or too large to show)\n', after: 'b' }] });
  });

  it('force: false leaves an existing file alone', () => {
    expect(copy.plan(parse({ dest: '/x', content: 'new', force: false }), { dest: fileWith('old') }, ctx)).toEqual({ kind: 'ok', reason: '/x exists (force: false)' });
  });

  it('refuses a directory destination and bad arguments', () => {
    expect(() => copy.plan(parse({ dest: '/etc', content: 'x' }), { dest: dirInfo() }, ctx)).toThrow('/etc is a directory, not a regular file');
    expect(() => parse({ dest: '/x' })).toThrow('give exactly one of content or src');
    expect(() => parse({ dest: '/x', content: 'a', src: 'b' })).toThrow('give exactly one of content or src');
    expect(() => parse({ dest: '/x', content: 'a', validate: 'visudo -c' })).toThrow('validate must contain %s');
    expect(() => parse({ dest: '/x', content: 'a', mode: 'rwx' })).toThrow(/invalid mode/);
  });

  describe('prepare() finds src in files/ beside the playbook, then beside it', () => {
    let dir: string;
    let at: typeof ctx;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'provision-copy-src-'));
      mkdirSync(join(dir, 'files'));
      writeFileSync(join(dir, 'motd.txt'), 'from file\n');
      writeFileSync(join(dir, 'both.txt'), 'beside\n');
      writeFileSync(join(dir, 'files', 'both.txt'), 'in files/\n');
      writeFileSync(join(dir, 'bin'), Buffer.from([0xff, 0x00, 0xfe]));
      at = { ...ctx, searchDirs: { templates: [join(dir, 'templates'), dir], files: [join(dir, 'files'), dir] } };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the file into content', async () => {
      const a = await copy.prepare!(parse({ dest: '/etc/', src: 'motd.txt' }), at);
      expect(a.content).toBe('from file\n');
      expect(copy.facts(a, ctx).dest.id).toBe('file:/etc/motd.txt');
    });

    it('files/ comes first; an absolute src is taken as it is', async () => {
      expect((await copy.prepare!(parse({ dest: '/x', src: 'both.txt' }), at)).content).toBe('in files/\n');
      expect((await copy.prepare!(parse({ dest: '/x', src: join(dir, 'both.txt') }), at)).content).toBe('beside\n');
    });

    it('missing or binary src is a TaskError naming where it looked', async () => {
      await expect(copy.prepare!(parse({ dest: '/x', src: 'nope' }), at)).rejects.toThrow(`cannot find src nope: looked for ${join(dir, 'files', 'nope')}, ${join(dir, 'nope')}`);
      await expect(copy.prepare!(parse({ dest: '/x', src: 'bin' }), at)).rejects.toThrow(/not UTF-8 text/);
      await expect(copy.prepare!(parse({ dest: '/x', src: 'files' }), at)).rejects.toThrow(/src .*files is not a regular file/);
    });
  });
});

describe('copy write steps against a real /bin/sh (property)', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'provision-copy-prop-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const fileName = fc
    .string({ unit: 'binary', minLength: 1, maxLength: 40 })
    .filter((s) => !s.includes('\0') && !s.includes('/') && s !== '.' && s !== '..');
  const content = fc.string({ unit: 'binary', maxLength: 300 }).filter((s) => !s.includes('\0'));

  it('content round-trips, nothing else is created, and a second plan is ok', () => {
    let n = 0;
    fc.assert(
      fc.property(fileName, content, fc.boolean(), (name, text, preexisting) => {
        const dir = join(root, String(n++));
        execFileSync('mkdir', [dir]);
        const dest = join(dir, name);
        if (preexisting) writeFileSync(dest, 'previous\n');
        const readFact = () => parseFileFact(execFileSync('/bin/sh', ['-c', fileFact.command({ path: dest })], { encoding: 'utf8' }), dest);

        const a = parse({ dest, content: text, backup: false });
        const plan = copy.plan(a, { dest: readFact() }, ctx);
        if (preexisting && text === 'previous\n') return plan.kind === 'ok';
        expect(plan.kind).toBe('change');
        for (const step of steps(plan)) {
          const r = spawnSync('/bin/sh', ['-c', step.command], { input: step.stdin ?? '' });
          expect(r.status, r.stderr.toString()).toBe(0);
        }
        expect(readdirSync(dir)).toEqual([name]);
        expect(readFileSync(dest, 'utf8')).toBe(text);
        expect(copy.plan(a, { dest: readFact() }, ctx).kind).toBe('ok');
        return true;
      }),
      { numRuns: 60 },
    );
  }, 60_000);
});
