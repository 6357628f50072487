import { describe, expect, it } from 'vitest';
import { command } from '../../../src/tasks/command.js';
import { shell } from '../../../src/tasks/shell.js';
import { splitWords } from '../../../src/tasks/lib/args.js';
import { absent, ctx, dirInfo, fileWith } from './_helpers.js';

const parseCmd = (v: unknown) => command.schema.parse(v);
const parseShell = (v: unknown) => shell.schema.parse(v);

describe('splitWords', () => {
  it('splits like a shell without expanding', () => {
    expect(splitWords('echo  $HOME "a b" \'c d\' e\\ f')).toEqual(['echo', '$HOME', 'a b', 'c d', 'e f']);
    expect(splitWords('a "x\\"y\\$z" \'\' ""')).toEqual(['a', 'x"y$z', '', '']);
    expect(splitWords('ls | wc -l; rm *')).toEqual(['ls', '|', 'wc', '-l;', 'rm', '*']);
    expect(() => splitWords('echo "oops')).toThrow('unterminated double quote');
    expect(() => splitWords("echo 'oops")).toThrow('unterminated single quote');
  });
});

describe('command', () => {
  it('accepts the string short form', () => {
    expect(parseCmd('/usr/bin/true')).toEqual({ cmd: '/usr/bin/true' });
  });

  it('runs the words quoted, with stdin closed', () => {
    const a = parseCmd('echo $HOME "it\'s"');
    expect(command.plan(a, {}, ctx)).toEqual({
      kind: 'change',
      summary: 'run: echo $HOME "it\'s"',
      steps: [{ command: `echo '$HOME' 'it'\\''s' </dev/null` }],
    });
  });

  it('argv: every element is one word', () => {
    const a = parseCmd({ argv: ['touch', '/tmp/a b', '$(reboot)', "x'y", 'l1\nl2'], chdir: '/srv/my app', stdin: 'data' });
    const plan = command.plan(a, {}, ctx);
    expect(plan).toEqual({
      kind: 'change',
      summary: `run: touch '/tmp/a b' '$(reboot)' 'x'\\''y' 'l1\nl2'`,
      steps: [{ command: `cd '/srv/my app' && touch '/tmp/a b' '$(reboot)' 'x'\\''y' 'l1\nl2'`, stdin: 'data' }],
    });
  });

  it('creates / removes guard the command', () => {
    const a = parseCmd({ cmd: 'make install', creates: '/usr/local/bin/app', removes: '/tmp/build' });
    const facts = command.facts(a, ctx);
    expect(Object.keys(facts)).toEqual(['creates', 'removes']);
    expect(facts.creates?.id).toBe('file:/usr/local/bin/app');
    expect(command.plan(a, { creates: fileWith('x'), removes: dirInfo() }, ctx)).toEqual({ kind: 'ok', reason: '/usr/local/bin/app exists' });
    expect(command.plan(a, { creates: absent, removes: absent }, ctx)).toEqual({ kind: 'ok', reason: '/tmp/build does not exist' });
    expect(command.plan(a, { creates: absent, removes: dirInfo() }, ctx).kind).toBe('change');
  });

  it('is marked opaque (the runner decides changed / check mode)', () => {
    expect(command.opaque).toBe(true);
    expect(shell.opaque).toBe(true);
  });

  it('rejects bad arguments', () => {
    expect(() => parseCmd({})).toThrow('give exactly one of cmd or argv');
    expect(() => parseCmd({ cmd: 'a', argv: ['a'] })).toThrow('give exactly one of cmd or argv');
    expect(() => parseCmd({ cmd: 'a', bogus: 1 })).toThrow(/bogus/);
    expect(() => command.plan(parseCmd({ cmd: '   ' }), {}, ctx)).toThrow('empty command');
  });
});

describe('shell', () => {
  it('short form runs through /bin/sh -c with the script as one word', () => {
    const a = parseShell('grep -q "^x" /etc/a | wc -l > /tmp/$(id -u)');
    expect(shell.plan(a, {}, ctx)).toEqual({
      kind: 'change',
      summary: 'run: grep -q "^x" /etc/a | wc -l > /tmp/$(id -u)',
      steps: [{ command: `/bin/sh -c 'grep -q "^x" /etc/a | wc -l > /tmp/$(id -u)' </dev/null` }],
    });
  });

  it('executable, chdir, stdin, creates', () => {
    const a = parseShell({ cmd: "echo 'hi'", executable: '/bin/bash', chdir: '/opt', stdin: 'in', creates: '/opt/done' });
    expect(shell.plan(a, { creates: absent }, ctx)).toMatchObject({ steps: [{ command: `cd /opt && /bin/bash -c 'echo '\\''hi'\\''' `.trimEnd(), stdin: 'in' }] });
    expect(shell.plan(a, { creates: fileWith('') }, ctx)).toEqual({ kind: 'ok', reason: '/opt/done exists' });
  });

  it('rejects unknown keys', () => {
    expect(() => parseShell({ cmd: 'x', argv: ['x'] })).toThrow(/argv/);
  });
});
