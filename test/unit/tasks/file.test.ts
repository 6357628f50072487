import { describe, expect, it } from 'vitest';
import { file } from '../../../src/tasks/file.js';
import type { PresentFile } from '../../../src/facts/files.js';
import { absent, ctx, dirInfo, fileWith } from './_helpers.js';

const parse = (v: unknown) => file.schema.parse(v);
const link = (target: string, over: Partial<PresentFile> = {}): PresentFile => ({
  exists: true,
  type: 'link',
  mode: '0777',
  owner: 'root',
  group: 'root',
  uid: 0,
  gid: 0,
  size: target.length,
  target,
  ...over,
});

describe('file: directory', () => {
  it('creates a missing directory with attributes', () => {
    const plan = file.plan(parse({ path: '/srv/my app/', state: 'directory', mode: '0750', owner: 'deploy', group: 'deploy' }), { path: absent }, ctx);
    expect(plan).toEqual({
      kind: 'change',
      summary: 'create directory /srv/my app',
      steps: [{ command: `mkdir -p -- '/srv/my app' && chown deploy:deploy '/srv/my app' && chmod 0750 '/srv/my app'` }],
      diffs: [{ label: '/srv/my app', before: 'state: absent\n', after: 'state: directory\nmode: 0750\nowner: deploy\ngroup: deploy\n' }],
      predictions: [
        {
          request: expect.objectContaining({ id: 'file:/srv/my app' }),
          value: { exists: true, type: 'directory', mode: '0750', owner: 'deploy', group: 'deploy', uid: -1, gid: -1, size: 4096 },
        },
      ],
    });
  });

  it('existing directory with the right attributes: ok, says why', () => {
    expect(file.plan(parse({ path: '/srv', state: 'directory', mode: '755', owner: 'root' }), { path: dirInfo() }, ctx)).toEqual({
      kind: 'ok',
      reason: '/srv is a directory with the requested attributes',
    });
  });

  it('fixes mode and owner with a diff', () => {
    const plan = file.plan(parse({ name: '/srv', state: 'directory', mode: 'u=rwx,g=rx,o=', owner: 'deploy' }), { path: dirInfo() }, ctx);
    expect(plan).toMatchObject({
      kind: 'change',
      summary: 'set mode, owner of /srv',
      steps: [{ command: 'chown deploy /srv && chmod 0750 /srv' }],
      diffs: [{ label: '/srv (attributes)', before: 'owner: root\nmode: 0755\n', after: 'owner: deploy\nmode: 0750\n' }],
    });
  });

  it('without state an existing directory stays a directory', () => {
    expect(file.plan(parse({ path: '/srv', mode: '0700' }), { path: dirInfo() }, ctx)).toMatchObject({ steps: [{ command: 'chmod 0700 /srv' }] });
    expect(() => file.plan(parse({ path: '/srv' }), { path: absent }, ctx)).toThrow('/srv does not exist');
  });

  it('refuses when a file is in the way', () => {
    expect(() => file.plan(parse({ path: '/srv', state: 'directory' }), { path: fileWith('x') }, ctx)).toThrow('/srv exists and is a file, not a directory');
  });
});

describe('file: file / absent / touch', () => {
  it('state file: attributes only, the file must exist', () => {
    expect(file.plan(parse({ dest: '/etc/shadow', mode: '0640', group: 'shadow' }), { path: fileWith('', { mode: '0640', group: 'shadow', gid: 42 }) }, ctx).kind).toBe('ok');
    expect(file.plan(parse({ path: '/etc/shadow', mode: '0600' }), { path: fileWith('', { mode: '0640' }) }, ctx)).toMatchObject({
      steps: [{ command: 'chmod 0600 /etc/shadow' }],
    });
    expect(() => file.plan(parse({ path: '/nope' }), { path: absent }, ctx)).toThrow('/nope does not exist');
  });

  it('absent removes recursively, ok when missing, refuses system paths', () => {
    expect(file.plan(parse({ path: "/tmp/it's", state: 'absent' }), { path: dirInfo() }, ctx)).toEqual({
      kind: 'change',
      summary: "remove directory /tmp/it's",
      steps: [{ command: `rm -rf -- '/tmp/it'\\''s'` }],
      diffs: [{ label: "/tmp/it's", before: 'state: directory\nmode: 0755\nowner: root\ngroup: root\n', after: 'state: absent\n' }],
      predictions: [{ request: expect.objectContaining({ id: "file:/tmp/it's" }), value: { exists: false } }],
    });
    expect(file.plan(parse({ path: '/tmp/x', state: 'absent' }), { path: absent }, ctx)).toEqual({ kind: 'ok', reason: '/tmp/x is absent' });
    expect(() => file.plan(parse({ path: '/etc/', state: 'absent' }), { path: dirInfo() }, ctx)).toThrow('refusing to remove /etc');
  });

  it('touch creates a missing file, or updates times of an existing one', () => {
    expect(file.plan(parse({ path: '/var/log/app.log', state: 'touch', mode: '0640' }), { path: absent }, ctx)).toMatchObject({
      summary: 'create empty file /var/log/app.log',
      steps: [{ command: 'touch -- /var/log/app.log && chmod 0640 /var/log/app.log' }],
    });
    expect(file.plan(parse({ path: '/var/log/app.log', state: 'touch' }), { path: fileWith('x') }, ctx)).toMatchObject({
      summary: 'touch /var/log/app.log (update times)',
      steps: [{ command: 'touch -- /var/log/app.log' }],
    });
  });
});

describe('file: link', () => {
  it('creates a link', () => {
    expect(file.plan(parse({ path: '/etc/nginx/sites-enabled/app', state: 'link', src: '/etc/nginx/sites-available/app' }), { path: absent }, ctx)).toMatchObject({
      kind: 'change',
      summary: 'create link /etc/nginx/sites-enabled/app -> /etc/nginx/sites-available/app',
      steps: [{ command: 'ln -sfn -- /etc/nginx/sites-available/app /etc/nginx/sites-enabled/app' }],
      predictions: [{ value: { type: 'link', target: '/etc/nginx/sites-available/app' } }],
    });
  });

  it('ok when it already points there; repoints otherwise; chown -h for link owner', () => {
    const a = parse({ path: '/l', state: 'link', src: '/t' });
    expect(file.plan(a, { path: link('/t') }, ctx)).toEqual({ kind: 'ok', reason: '/l is a link to /t with the requested attributes' });
    expect(file.plan(a, { path: link('/other') }, ctx)).toMatchObject({ summary: 'point link /l to /t', steps: [{ command: 'ln -sfn -- /t /l' }] });
    expect(file.plan(parse({ path: '/l', state: 'link', src: '/t', owner: 'deploy', mode: '0600' }), { path: link('/t') }, ctx)).toMatchObject({
      steps: [{ command: 'chown -h deploy /l' }],
    });
  });

  it('refuses to replace files without force, and directories always', () => {
    const a = parse({ path: '/l', state: 'link', src: '/t' });
    expect(() => file.plan(a, { path: fileWith('x') }, ctx)).toThrow('set force: true');
    expect(file.plan(parse({ path: '/l', state: 'link', src: '/t', force: true }), { path: fileWith('x') }, ctx).kind).toBe('change');
    expect(() => file.plan(a, { path: dirInfo() }, ctx)).toThrow('/l is a directory');
  });

  it('schema: link needs src; src only with link', () => {
    expect(() => parse({ path: '/l', state: 'link' })).toThrow('state: link needs src');
    expect(() => parse({ path: '/l', src: '/t' })).toThrow('src is only used with state: link');
    expect(() => parse({ path: '/l', recurse: true })).toThrow(/recurse/);
  });

  it('path aliases: dest and name, only one at a time', () => {
    expect(parse({ dest: '/a' })).toEqual({ path: '/a', force: false });
    expect(parse({ name: '/b', state: 'absent' })).toEqual({ path: '/b', state: 'absent', force: false });
    expect(() => parse({ path: '/a', dest: '/b' })).toThrow('give only one of path, dest (aliases)');
    expect(() => parse({ state: 'absent' })).toThrow('path is required');
  });
});

describe('file: skip_missing', () => {
  it('a missing path is left alone and said so; an existing one is managed as without it', () => {
    expect(file.plan(parse({ path: '/etc/cron.d', mode: '0700', skip_missing: true }), { path: absent }, ctx)).toEqual({ kind: 'ok', reason: '/etc/cron.d does not exist (skip_missing)' });
    expect(file.plan(parse({ path: '/etc/cron.d', mode: '0700', skip_missing: true }), { path: dirInfo() }, ctx)).toMatchObject({ kind: 'change', steps: [{ command: 'chmod 0700 /etc/cron.d' }] });
    expect(file.plan(parse({ path: '/etc/passwd-', state: 'file', mode: '0644', skip_missing: true }), { path: fileWith('x', { mode: '0600' }) }, ctx)).toMatchObject({ steps: [{ command: 'chmod 0644 /etc/passwd-' }] });
  });

  it('without it a missing path still fails, and it is refused with a state that creates or removes', () => {
    expect(() => file.plan(parse({ path: '/etc/passwd-', mode: '0644' }), { path: absent }, ctx)).toThrow('/etc/passwd- does not exist');
    for (const state of ['directory', 'touch', 'absent']) expect(() => parse({ path: '/x', state, skip_missing: true })).toThrow('skip_missing is only used without state or with state: file');
    expect(() => parse({ path: '/x', state: 'link', src: '/y', skip_missing: true })).toThrow('skip_missing is only used without state or with state: file');
    // a path that exists but is of another type is still an error, not skipped
    expect(() => file.plan(parse({ path: '/etc/passwd-', mode: '0644', skip_missing: true }), { path: link('/nowhere') }, ctx)).toThrow('/etc/passwd- is a link, not a regular file');
  });
});
