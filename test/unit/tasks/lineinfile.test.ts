import { describe, expect, it } from 'vitest';
import { editLines, lineinfile } from '../../../src/tasks/lineinfile.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import { absent, ctx, dirInfo, fileWith } from './_helpers.js';

const parse = (v: unknown) => lineinfile.schema.parse(v);
const edit = (text: string, args: Record<string, unknown>) => editLines(text, parse({ path: '/f', ...args }));

const SSHD = '# sshd\nPort 22\n#PermitRootLogin yes\nPermitRootLogin yes\nUsePAM yes\n';

describe('editLines (Ansible semantics)', () => {
  it('search_string: a literal substring (no regexp characters), last match replaced, every match removed', () => {
    const rc = 'export PATH=/a\n# Added by k3s-ansible (1.*)\nalias k=kubectl # Added by k3s-ansible (1.*)\n';
    expect(edit(rc, { search_string: 'Added by k3s-ansible (1.*)', state: 'absent' })).toEqual({ content: 'export PATH=/a\n', action: 'remove 2 lines' });
    expect(edit(rc, { search_string: '(1.*)', line: 'x' })).toEqual({ content: 'export PATH=/a\n# Added by k3s-ansible (1.*)\nx\n', action: 'replace line 3' });
    expect(edit(rc, { search_string: 'nowhere', line: 'y' }).content).toBe(`${rc}y\n`);
    expect(edit(rc, { search_string: '^export', state: 'absent' })).toEqual({ content: rc });
    expect(lineinfile.schema.safeParse({ path: '/f', search_string: 'a', regexp: 'b', line: 'c' }).error?.issues[0]?.message).toBe('give only one of regexp and search_string');
    expect(lineinfile.schema.safeParse({ path: '/f', state: 'absent' }).error?.issues[0]?.message).toBe('state: absent needs regexp, search_string or line');
  });

  it('replaces the LAST regexp match', () => {
    expect(edit(SSHD, { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' })).toEqual({
      content: '# sshd\nPort 22\n#PermitRootLogin yes\nPermitRootLogin no\nUsePAM yes\n',
      action: 'replace line 4',
    });
  });

  it('no change when the matched line is already right, or the exact line exists', () => {
    expect(edit(SSHD, { regexp: '^Port ', line: 'Port 22' })).toEqual({ content: SSHD });
    expect(edit(SSHD, { line: 'UsePAM yes' })).toEqual({ content: SSHD });
    expect(edit(SSHD, { regexp: '^NoSuch', line: 'UsePAM yes' })).toEqual({ content: SSHD });
  });

  it('appends at EOF by default, adding a missing final newline', () => {
    expect(edit(SSHD, { line: 'X11Forwarding no' })).toEqual({ content: SSHD + 'X11Forwarding no\n', action: 'append line' });
    expect(edit('a\nb', { line: 'c' })).toEqual({ content: 'a\nb\nc\n', action: 'append line' });
    expect(edit('', { line: 'c' })).toEqual({ content: 'c\n', action: 'append line' });
  });

  it('insertafter / insertbefore: regex (last match, or first with firstmatch), BOF, EOF, fallback to EOF', () => {
    const t = 'a\nk=1\nb\nk=2\nc\n';
    expect(edit(t, { line: 'new', insertafter: '^k=' }).content).toBe('a\nk=1\nb\nk=2\nnew\nc\n');
    expect(edit(t, { line: 'new', insertafter: '^k=', firstmatch: true }).content).toBe('a\nk=1\nnew\nb\nk=2\nc\n');
    expect(edit(t, { line: 'new', insertbefore: '^k=' })).toEqual({ content: 'a\nk=1\nb\nnew\nk=2\nc\n', action: 'insert line 4' });
    expect(edit(t, { line: 'new', insertbefore: 'BOF' }).content).toBe('new\na\nk=1\nb\nk=2\nc\n');
    expect(edit(t, { line: 'new', insertafter: 'EOF' }).content).toBe(t + 'new\n');
    expect(edit(t, { line: 'new', insertafter: '^zzz' }).content).toBe(t + 'new\n');
    expect(edit(t, { line: 'new', insertbefore: '^zzz' }).content).toBe(t + 'new\n');
  });

  it('absent removes every match (regexp) or the exact line', () => {
    expect(edit(SSHD, { state: 'absent', regexp: 'PermitRootLogin' })).toEqual({ content: '# sshd\nPort 22\nUsePAM yes\n', action: 'remove 2 lines' });
    expect(edit(SSHD, { state: 'absent', line: 'Port 22' })).toEqual({ content: '# sshd\n#PermitRootLogin yes\nPermitRootLogin yes\nUsePAM yes\n', action: 'remove 1 line' });
    expect(edit(SSHD, { state: 'absent', regexp: '^Nope' })).toEqual({ content: SSHD });
    expect(edit('a\nb', { state: 'absent', line: 'a' })).toEqual({ content: 'b', action: 'remove 1 line' });
  });

  it('invalid regular expressions are task errors', () => {
    expect(() => edit('a', { regexp: '(', line: 'x' })).toThrow(/invalid regexp "\("/);
  });
});

describe('lineinfile planner', () => {
  it('ok with the reason', () => {
    expect(lineinfile.plan(parse({ path: '/etc/ssh/sshd_config', regexp: '^Port', line: 'Port 22' }), { file: fileWith(SSHD) }, ctx)).toEqual({
      kind: 'ok',
      reason: '/etc/ssh/sshd_config: the line is present',
    });
    expect(lineinfile.plan(parse({ path: '/x', state: 'absent', regexp: 'a' }), { file: absent }, ctx)).toEqual({ kind: 'ok', reason: '/x does not exist' });
  });

  it('change: atomic write with diff, validate and backup', () => {
    const a = parse({ dest: '/etc/ssh/sshd_config', regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no', validate: 'sshd -t -f %s', backup: true });
    const plan = lineinfile.plan(a, { file: fileWith(SSHD, { mode: '0600' }) }, ctx);
    const after = '# sshd\nPort 22\n#PermitRootLogin yes\nPermitRootLogin no\nUsePAM yes\n';
    expect(plan).toMatchObject({
      kind: 'change',
      summary: '/etc/ssh/sshd_config: replace line 4',
      steps: writeFileSteps({ path: '/etc/ssh/sshd_config', content: after, backup: true, validate: 'sshd -t -f %s' }),
      diffs: [{ label: '/etc/ssh/sshd_config', before: SSHD, after }],
      predictions: [{ request: { id: 'file:/etc/ssh/sshd_config' }, value: { content: after, mode: '0600', size: after.length } }],
    });
  });

  it('missing file: error unless create', () => {
    expect(() => lineinfile.plan(parse({ path: '/etc/x', line: 'a' }), { file: absent }, ctx)).toThrow('/etc/x does not exist (set create: true to create it)');
    expect(lineinfile.plan(parse({ path: '/etc/x', line: 'a', create: true, mode: '0600' }), { file: absent }, ctx)).toMatchObject({
      summary: 'create /etc/x with 1 line',
      steps: writeFileSteps({ path: '/etc/x', content: 'a\n', mode: '0600', backup: false }),
      diffs: [{ before: '', after: 'a\n' }],
    });
  });

  it('only attributes differ', () => {
    expect(lineinfile.plan(parse({ path: '/f', line: 'Port 22', mode: '0600' }), { file: fileWith(SSHD) }, ctx)).toMatchObject({
      summary: 'set mode of /f',
      steps: [{ command: 'chmod 0600 /f' }],
    });
  });

  it('refuses directories and unreadable content', () => {
    expect(() => lineinfile.plan(parse({ path: '/f', line: 'x' }), { file: dirInfo() }, ctx)).toThrow('/f is a directory, not a regular file');
    const { content: _c, ...binary } = fileWith('x');
    expect(() => lineinfile.plan(parse({ path: '/f', line: 'x' }), { file: binary }, ctx)).toThrow(/binary, unreadable, or larger than 1 MiB/);
  });

  it('schema checks', () => {
    expect(() => parse({ path: '/f' })).toThrow('state: present needs line');
    expect(() => parse({ path: '/f', state: 'absent' })).toThrow('state: absent needs regexp, search_string or line');
    expect(() => parse({ path: '/f', line: 'a\nb' })).toThrow('line must be a single line');
    expect(() => parse({ path: '/f', line: 'a', insertafter: 'x', insertbefore: 'y' })).toThrow('give only one of insertafter and insertbefore');
  });
});
