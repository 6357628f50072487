import { describe, expect, it } from 'vitest';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../../src/contract/errors.js';
import { defaultTaskName, loadPlaybook, parsePlaybook } from '../../../src/core/playbook.js';
import { fakeRegistry } from '../schema/registry.fixture.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/playbooks');

function linesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a ValidationError');
}

const bad = (text: string) => linesOf(() => parsePlaybook(text, 'pb.yaml', fakeRegistry, '/tmp'));

describe('loadPlaybook', () => {
  it('builds plays and tasks with defaults, normalised lists and locations', () => {
    const file = join(fixtures, 'site.yaml');
    const pb = loadPlaybook(file, fakeRegistry);
    expect(pb.file).toBe(file);
    expect(pb.dir).toBe(fixtures);
    const [play] = pb.plays;
    expect(play).toMatchObject({
      name: 'Base setup',
      hosts: 'web:&prod',
      become: true,
      gatherFacts: true,
      vars: { ssh_port: 2222 },
      serial: [1, '50%'],
      tags: [],
      location: { file, line: 1, column: 3 },
    });
    const t = play?.tasks ?? [];
    expect(t.map((x) => x.name)).toEqual([
      'Create deploy user',
      'sysctl name=net.ipv4.ip_forward value={{ fwd }}',
      'command uptime',
      'user name={{ item }}',
    ]);
    expect(t[0]).toEqual({
      name: 'Create deploy user',
      module: 'user',
      args: { name: 'deploy', shell: '/bin/bash' },
      notify: ['restart sshd'],
      tags: [],
      loopVar: 'item',
      ignoreErrors: false,
      noLog: false,
      listen: [],
      controls: [],
      location: { file, line: 8, column: 7 },
    });
    // args stay raw: the template is kept, defaults are not applied
    expect(t[1]).toMatchObject({ args: { name: 'net.ipv4.ip_forward', value: '{{ fwd }}' }, when: 'ansible_os_family == "Debian"', tags: ['net', 'kernel'] });
    expect(t[2]).toMatchObject({ module: 'command', args: 'uptime', checkMode: false, register: 'up', changedWhen: false, timeoutMs: 2500 });
    expect(t[3]).toMatchObject({ loop: '{{ users }}', loopVar: 'u' });
    expect(play?.handlers).toMatchObject([{ name: 'restart sshd', listen: ['ssh changed'], module: 'command' }]);
  });

  it('reports every problem with file:line:col, including nested task args', () => {
    expect(linesOf(() => loadPlaybook(join(fixtures, 'bad.yaml'), fakeRegistry)).map((l) => l.replace(/^.*bad\.yaml:/, ''))).toEqual([
      '2:17 [0].gather_facts: expected boolean, got string "maybe"',
      '7:9 [0].tasks[0].user: unknown key "shel" (did you mean "shell"? allowed: name, shell, groups, state)',
      '11:16 [0].tasks[1].user.shell: expected string, got number',
      '12:7 [0].tasks[2]: unknown task type "usr" (did you mean "user"? known: command, sysctl, user)',
      '15:7 [0].tasks[3]: more than one task type in one task ("user", "command"): split it into separate tasks',
      '16:33 [0].tasks[4].sysctl.value: must be at most 10, got 11',
    ]);
  });
});

describe('task validation', () => {
  it('accepts templates where args expect other types, but not in common keys', () => {
    expect(() => parsePlaybook('- hosts: all\n  tasks:\n    - sysctl: { name: x, value: "{{ v }}" }\n', 'pb.yaml', fakeRegistry)).not.toThrow();
    expect(bad('- hosts: all\n  tasks:\n    - command: ls\n      ignore_errors: "{{ x }}"\n')).toEqual([
      'pb.yaml:4:22 [0].tasks[0].ignore_errors: expected boolean, got string "{{ x }}"',
    ]);
  });

  it('a task without a type, and misspelled common keys', () => {
    expect(bad('- hosts: all\n  tasks:\n    - name: nothing\n')).toEqual([
      'pb.yaml:3:7 [0].tasks[0]: task has no task type: add exactly one of command, sysctl, user',
    ]);
    expect(bad('- hosts: all\n  tasks:\n    - command: ls\n      nofity: x\n')).toEqual([
      'pb.yaml:4:7 [0].tasks[0]: unknown key "nofity" (did you mean "notify"? allowed: name, when, tags, vars, ignore_errors, no_log, become, become_user, remote_user, check_mode, timeout, notify, loop, loop_var, loop_control, register, changed_when, failed_when, until, retries, delay, controls, args, and one task type)',
    ]);
  });

  it('enum values in args are listed', () => {
    expect(bad('- hosts: all\n  tasks:\n    - user: { name: a, state: gone }\n')).toEqual([
      'pb.yaml:3:31 [0].tasks[0].user.state: expected one of "present", "absent", got "gone"',
    ]);
  });

  it('union args report the branch that nearly matched', () => {
    expect(bad('- hosts: all\n  tasks:\n    - command: { cmd: 1 }\n')).toEqual(['pb.yaml:3:23 [0].tasks[0].command.cmd: expected string, got number']);
  });

  it('checks when, loop, register and timeout', () => {
    expect(
      bad(
        '- hosts: all\n  tasks:\n    - command: ls\n      when: 3\n      loop: users\n      register: 1bad\n      timeout: 0\n',
      ),
    ).toEqual([
      'pb.yaml:4:13 [0].tasks[0].when: expected string, boolean or list, got number',
      'pb.yaml:6:17 [0].tasks[0].register: must be an identifier (letters, digits and _, not starting with a digit)',
      'pb.yaml:7:16 [0].tasks[0].timeout: must be more than 0, got 0',
    ]);
    expect(bad('- hosts: all\n  tasks:\n    - command: ls\n      loop: users\n')).toEqual([
      'pb.yaml:4:13 [0].tasks[0].loop: expected a list or a template string like "{{ items }}", got string "users"',
    ]);
  });

  it('handlers need a name, and notify must name a handler', () => {
    expect(bad('- hosts: all\n  tasks: []\n  handlers:\n    - command: ls\n')).toEqual(['pb.yaml:4:7 [0].handlers[0].name: required (expected string)']);
    expect(
      bad('- hosts: all\n  tasks:\n    - command: ls\n      notify: restrat\n  handlers:\n    - name: restart\n      command: ls\n'),
    ).toEqual(['pb.yaml:4:15 [0].tasks[0].notify: no handler named "restrat" in this play (did you mean "restart"?); handlers: restart']);
  });

  it('unsupported Ansible keys get a specific message', () => {
    expect(bad('- hosts: all\n  strategy: free\n  tasks:\n    - command: ls\n      delegate_to: db1\n')).toEqual([
      'pb.yaml:2:3 [0]: strategy is not supported (hosts run in parallel, each one task after the other)',
      "pb.yaml:5:7 [0].tasks[0]: delegate_to is not supported: tasks run on the play's hosts: put the task in a play for the host it should run on (hosts: localhost for this machine)",
    ]);
  });
});

describe('play validation', () => {
  it('requires hosts and validates play keys', () => {
    expect(bad('- tasks: []\n  serial: "150%"\n  max_fail_percentage: 101\n  becom: true\n')).toEqual([
      'pb.yaml:1:3 [0].hosts: required (expected string or list)',
      'pb.yaml:2:11 [0].serial: must be a percentage like "30%" (1% to 100%)',
      'pb.yaml:3:24 [0].max_fail_percentage: must be at most 100, got 101',
      'pb.yaml:4:3 [0]: unknown key "becom" (did you mean "become"? allowed: name, hosts, vars, vars_prompt, vars_files, become, become_user, remote_user, gather_facts, serial, max_fail_percentage, tags, lockout_protection, rollback_timeout, allow_lockout, pre_tasks, roles, tasks, post_tasks, handlers)',
    ]);
  });

  it('a playbook is a non-empty list of mappings', () => {
    expect(bad('hosts: all\n')).toEqual(['pb.yaml:1:1 a playbook is a list of plays (- hosts: ...), got mapping']);
    expect(bad('')).toEqual(['pb.yaml: playbook is empty (expected a list of plays)']);
    expect(bad('- 3\n')).toEqual(['pb.yaml:1:3 [0]: expected a play (a mapping with hosts: and tasks:), got number']);
  });

  it('hosts lists are joined as a union pattern; play name defaults to hosts', () => {
    const pb = parsePlaybook('- hosts: [web, db]\n  gather_facts: false\n', 'pb.yaml', fakeRegistry, '/tmp');
    expect(pb.plays[0]).toMatchObject({ name: 'web,db', hosts: 'web,db', gatherFacts: false, tasks: [], handlers: [] });
  });
});

describe('defaultTaskName', () => {
  it('shows the module and short scalar args', () => {
    expect(defaultTaskName('user', { name: 'deploy', groups: ['a'], shell: '/bin/sh' })).toBe('user name=deploy shell=/bin/sh');
    expect(defaultTaskName('command', 'x'.repeat(100))).toHaveLength(70);
  });
});
