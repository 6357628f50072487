/**
 * `template`: rendering measured against Ansible's own template module
 * (test/fixtures/template-files: each file in templates/ rendered by
 * ansible-core with vars.yaml, recorded in expected/ by oracle.sh), where the
 * template is looked for, the template variables, the options accepted only
 * at Ansible's defaults, and the plan (copy's: diff of the rendered text).
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskContext } from '../../../src/contract/task.js';
import { template } from '../../../src/tasks/template.js';
import { copy } from '../../../src/tasks/copy.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import { absent, ctx, fileWith } from './_helpers.js';

const FIXTURES = new URL('../../fixtures/template-files/', import.meta.url).pathname;
const parse = (v: unknown) => template.schema.parse(v);
const invalid = (v: unknown): string => {
  const r = template.schema.safeParse(v);
  return r.success ? '' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
};
const at = (dir: string, vars: Record<string, unknown> = {}): TaskContext => ({
  ...ctx,
  vars,
  searchDirs: { templates: [join(dir, 'templates'), dir], files: [join(dir, 'files'), dir] },
});

describe('template rendering agrees with Ansible\'s template module', () => {
  const vars = load(readFileSync(join(FIXTURES, 'vars.yaml'), 'utf8')) as Record<string, unknown>;
  const names = readdirSync(join(FIXTURES, 'templates'));

  it('has recorded cases', () => {
    expect(names.length).toBeGreaterThanOrEqual(6);
  });

  it.each(names)('%s', async (name) => {
    const a = await template.prepare!(parse({ src: name, dest: `/etc/${name}` }), at(FIXTURES, vars));
    expect(a.rendered).toBe(readFileSync(join(FIXTURES, 'expected', name), 'utf8'));
  });
});

describe('template preparation', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'provision-template-'));
    mkdirSync(join(dir, 'templates'));
    writeFileSync(join(dir, 'templates', 'both.j2'), 'from templates/ {{ who }}\n');
    writeFileSync(join(dir, 'both.j2'), 'beside {{ who }}\n');
    writeFileSync(join(dir, 'only-beside.j2'), 'only beside\n');
    writeFileSync(join(dir, 'templates', 'vars.j2'), '{{ ansible_managed }}|{{ template_path }}|{{ template_fullpath }}|{{ template_destpath }}|{{ template_host }}|{{ template_uid }}\n');
    writeFileSync(join(dir, 'templates', 'undefined.j2'), 'a\n{{ nope }}\n');
    writeFileSync(join(dir, 'templates', 'unsupported.j2'), '{% for x in xs if x %}{{ x }}{% endfor %}\n');
    writeFileSync(join(dir, 'templates', 'mode.j2'), 'x\n');
    chmodSync(join(dir, 'templates', 'mode.j2'), 0o640);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('looks in templates/ first, then beside the playbook; an absolute src as it is', async () => {
    expect((await template.prepare!(parse({ src: 'both.j2', dest: '/x' }), at(dir, { who: 'me' }))).rendered).toBe('from templates/ me\n');
    expect((await template.prepare!(parse({ src: 'only-beside.j2', dest: '/x' }), at(dir))).rendered).toBe('only beside\n');
    expect((await template.prepare!(parse({ src: join(dir, 'both.j2'), dest: '/x' }), at(dir, { who: 'me' }))).rendered).toBe('beside me\n');
    await expect(template.prepare!(parse({ src: 'nope.j2', dest: '/x' }), at(dir))).rejects.toThrow(
      `cannot find src nope.j2: looked for ${join(dir, 'templates', 'nope.j2')}, ${join(dir, 'nope.j2')}`,
    );
  });

  it('gives the template Ansible\'s template variables', async () => {
    const a = await template.prepare!(parse({ src: 'vars.j2', dest: '/etc/app/' }), at(dir));
    const full = join(dir, 'templates', 'vars.j2');
    expect(a.rendered).toBe(`Ansible managed|vars.j2|${full}|/etc/app/vars.j2|${hostname()}|${userInfo().username}\n`);
  });

  it('an undefined variable or an unsupported construct fails, naming the template', async () => {
    await expect(template.prepare!(parse({ src: 'undefined.j2', dest: '/x' }), at(dir))).rejects.toThrow('undefined variable "nope" in "undefined.j2"');
    await expect(template.prepare!(parse({ src: 'unsupported.j2', dest: '/x' }), at(dir, { xs: [1] }))).rejects.toThrow(/"unsupported\.j2": not supported: \{% for \.\.\. in \.\.\. if/);
  });

  it('mode: preserve takes the mode of the template file (template and copy)', async () => {
    expect((await template.prepare!(parse({ src: 'mode.j2', dest: '/x', mode: 'preserve' }), at(dir))).mode).toBe('0640');
    expect((await copy.prepare!(copy.schema.parse({ src: 'templates/mode.j2', dest: '/x', mode: 'preserve' }), at(dir))).mode).toBe('0640');
    expect(copy.schema.safeParse({ content: 'x', dest: '/x', mode: 'preserve' }).error?.issues[0]?.message).toBe('mode: preserve takes the mode of the local src file: give src');
  });
});

describe('template arguments', () => {
  it('accepts the Jinja2 options at Ansible\'s defaults', () => {
    expect(invalid({ src: 'a.j2', dest: '/x', trim_blocks: true, lstrip_blocks: false, newline_sequence: '\n', output_encoding: 'UTF-8', follow: false })).toBe('');
    expect(invalid({ src: 'a.j2', dest: '/x', output_encoding: 'utf8' })).toBe('');
  });

  it('refuses every other value, naming the argument', () => {
    expect(invalid({ src: 'a.j2', dest: '/x', trim_blocks: false })).toBe('trim_blocks: not supported: only true, Ansible\'s default (the newline after a block tag is removed)');
    expect(invalid({ src: 'a.j2', dest: '/x', lstrip_blocks: true })).toBe('lstrip_blocks: not supported: only false, Ansible\'s default (spaces before a block tag are kept)');
    expect(invalid({ src: 'a.j2', dest: '/x', newline_sequence: '\r\n' })).toMatch(/^newline_sequence: not supported: only "\\n"/);
    expect(invalid({ src: 'a.j2', dest: '/x', output_encoding: 'latin-1' })).toBe('output_encoding: not supported: only utf-8, Ansible\'s default');
    expect(invalid({ src: 'a.j2', dest: '/x', follow: true })).toMatch(/^follow: not supported: only false/);
    expect(invalid({ src: 'a.j2', dest: '/x', block_start_string: '[%' })).toMatch(/Unrecognized key: "block_start_string"/);
    expect(invalid({ src: 'a.j2', dest: '/x', state: 'file' })).toMatch(/Unrecognized key: "state"/);
    expect(invalid({ src: 'a.j2', dest: '/x', content: 'x' })).toMatch(/Unrecognized key: "content"/);
    expect(invalid({ dest: '/x' })).toMatch(/^src: /);
  });
});

describe('template planner (copy\'s plan for the rendered text)', () => {
  const rendered = (v: Record<string, unknown>, text: string) => ({ ...parse(v), rendered: text });

  it('creates the file with the rendered text as the diff, atomically, with validate and backup', () => {
    const a = rendered({ src: 'site.j2', dest: '/etc/nginx/site.conf', mode: '0644', owner: 'root', backup: true, validate: 'nginx -t -c %s' }, 'server { listen 80; }\n');
    const plan = template.plan(a, { dest: absent }, ctx);
    expect(plan).toMatchObject({ kind: 'change', summary: 'create /etc/nginx/site.conf', diffs: [{ label: '/etc/nginx/site.conf', before: '', after: 'server { listen 80; }\n' }] });
    if (plan.kind !== 'change') return;
    expect(plan.steps).toEqual(
      writeFileSteps({ path: '/etc/nginx/site.conf', content: 'server { listen 80; }\n', mode: '0644', owner: 'root', backup: true, validate: 'nginx -t -c %s' }),
    );
  });

  it('ok when the host has the rendered text; update with a diff when not; force: false keeps an existing file', () => {
    expect(template.plan(rendered({ src: 's.j2', dest: '/x' }, 'a\n'), { dest: fileWith('a\n') }, ctx)).toEqual({ kind: 'ok', reason: '/x has the requested content and attributes' });
    expect(template.plan(rendered({ src: 's.j2', dest: '/x' }, 'b\n'), { dest: fileWith('a\n') }, ctx)).toMatchObject({
      kind: 'change',
      summary: 'update /x',
      diffs: [{ label: '/x', before: 'a\n', after: 'b\n' }],
    });
    expect(template.plan(rendered({ src: 's.j2', dest: '/x', force: false }, 'b\n'), { dest: fileWith('a\n') }, ctx).kind).toBe('ok');
  });

  it('dest ending in / puts the file in that directory under the template\'s name', () => {
    expect(template.facts(parse({ src: 'files/motd.j2', dest: '/etc/' }), ctx).dest.id).toBe('file:/etc/motd.j2');
  });

  it('refuses to plan what prepare() did not render', () => {
    expect(() => template.plan(parse({ src: 's.j2', dest: '/x' }), { dest: absent }, ctx)).toThrow('template: s.j2 was not rendered (prepare() not run)');
  });
});
