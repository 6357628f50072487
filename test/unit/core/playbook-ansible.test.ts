/**
 * Real Ansible playbooks load: Ansible's spellings (collection-qualified
 * names, key=value arguments, free-form commands, with_* loops, YAML 1.1
 * booleans, remote_user), blocks, imports and includes of task files, roles in
 * the standard layout, vars_files, pre_tasks/post_tasks and import_playbook.
 * Every fixture under test/fixtures/playbooks/ansible passes
 * `ansible-playbook --syntax-check`; what provision cannot do is refused at
 * its file:line:col naming it.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/contract/errors.js';
import { flatIncludes, isTask, loadPlaybook, parsePlaybook, type BlockDef, type PlayItem, type TaskDef } from '../../../src/core/playbook.js';
import { registry } from '../../../src/tasks/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/playbooks/ansible');

/** Write `files` (path → text) into a new temp directory; returns it. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'provision-pb-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message.split('\n');
  }
  throw new Error('expected a ValidationError');
}

const parse = (text: string) => parsePlaybook(text, 'pb.yaml', registry, '/tmp');
const tasksOf = (text: string): TaskDef[] => parse(text).plays[0]!.tasks;
const bad = (text: string) => errorsOf(() => parse(text));
const where = (t: { location: { file: string; line: number } }) => `${t.location.file.split('/').pop()}:${t.location.line}`;

describe("Ansible's spellings of a task", () => {
  it('collection-qualified names are our task types', () => {
    const t = tasksOf(
      '- hosts: all\n  tasks:\n    - ansible.builtin.copy: { dest: /etc/motd, content: hi }\n    - ansible.legacy.command: ls\n    - ansible.posix.sysctl: { name: vm.swappiness, value: 10 }\n    - ansible.builtin.systemd_service: { name: nginx, state: started }\n    - ansible.builtin.systemd: { daemon_reload: true }\n',
    );
    expect(t.map((x) => x.module)).toEqual(['copy', 'command', 'sysctl', 'systemd_service', 'systemd']);
  });

  it('a collection a module does not live in is refused, naming the right one', () => {
    expect(bad('- hosts: all\n  tasks:\n    - ansible.posix.command: ls\n    - community.general.service: { name: nginx, state: started }\n    - ansible.builtin.sysctl: { name: vm.swappiness, value: 10 }\n')).toEqual([
      'pb.yaml:3:7 [0].tasks[0]: ansible.posix.command: there is no command in ansible.posix: write ansible.builtin.command (or command)',
      'pb.yaml:4:7 [0].tasks[1]: community.general.service: there is no service in community.general: write ansible.builtin.service (or service)',
      'pb.yaml:5:7 [0].tasks[2]: ansible.builtin.sysctl: there is no sysctl in ansible.builtin: write ansible.posix.sysctl (or sysctl)',
    ]);
  });

  it('an Ansible module provision has not is refused by its full name', () => {
    // modules the measured corpus uses and provision has not: named, with the native way
    expect(bad('- hosts: all\n  tasks:\n    - pause: seconds=3\n    - ansible.builtin.replace: { path: /f, regexp: a, replace: b }\n')).toEqual([
      'pb.yaml:3:7 [0].tasks[0]: pause is not supported: a run never waits for input: for a delay, command: sleep N',
      'pb.yaml:4:7 [0].tasks[1]: ansible.builtin.replace is not supported: use lineinfile with regexp (one line), or template for the whole file',
    ]);
    expect(bad('- hosts: all\n  tasks:\n    - community.general.haproxy: { state: enabled }\n')).toEqual([
      `pb.yaml:3:7 [0].tasks[0]: unknown task type "community.general.haproxy" (provision has no task type "haproxy") (known: ${Object.keys(registry).sort().join(', ')})`,
    ]);
  });

  it('key=value arguments, with booleans and numbers read as Ansible reads them', () => {
    const [svc, pkg, copy] = tasksOf('- hosts: all\n  tasks:\n    - service: name=nginx state=started enabled=yes\n    - package: name=htop state=present\n    - copy: dest=/etc/motd content="hello world" mode=0644 backup=no\n');
    expect(svc!.args).toEqual({ name: 'nginx', state: 'started', enabled: true });
    expect(pkg!.args).toEqual({ name: 'htop', state: 'present' });
    expect(copy!.args).toEqual({ dest: '/etc/motd', content: 'hello world', mode: '0644', backup: false });
  });

  it('the free form of command and shell, with chdir=/creates=/removes= and args:', () => {
    const [a, b, c, d] = tasksOf(
      '- hosts: all\n  tasks:\n    - command: npm test chdir=/srv/app\n    - shell: "echo a=b > /tmp/x creates=/tmp/x"\n    - command: uptime\n    - shell: make\n      args: { chdir: /src, creates: /src/out }\n',
    );
    expect(a!.args).toEqual({ cmd: 'npm test', chdir: '/srv/app' });
    expect(b!.args).toEqual({ cmd: 'echo a=b > /tmp/x', creates: '/tmp/x' });
    expect(c!.args).toBe('uptime');
    expect(d!.args).toEqual({ cmd: 'make', chdir: '/src', creates: '/src/out' });
  });

  it('the legacy action: keyword', () => {
    const [a, b] = tasksOf('- hosts: all\n  tasks:\n    - action: copy dest=/etc/motd content=x\n    - action: { module: file, path: /tmp/x, state: touch }\n');
    expect([a!.module, a!.args]).toEqual(['copy', { dest: '/etc/motd', content: 'x' }]);
    expect([b!.module, b!.args]).toEqual(['file', { path: '/tmp/x', state: 'touch' }]);
  });

  it('words a task type does not take, and unbalanced quotes, are refused at their place', () => {
    expect(bad('- hosts: all\n  tasks:\n    - service: nginx state=started\n    - copy: dest="/etc/motd\n')).toEqual([
      'pb.yaml:3:16 [0].tasks[0].service: service does not take free-form words ("nginx"): write its arguments as key=value or as a mapping',
      'pb.yaml:4:13 [0].tasks[1].copy: unbalanced quotes or {{ }} / {% %} in the argument string "dest=\\"/etc/motd"',
    ]);
    // arguments from one template are rendered, then checked, at run time (Ansible's _variable_params)
    expect(tasksOf('- hosts: all\n  tasks:\n    - copy: "{{ copy_args }}"\n')[0]!.args).toBe('{{ copy_args }}');
    expect(bad('- hosts: all\n  tasks:\n    - copy: "{{ copy_args }} dest=/x"\n')[0]).toMatch(/arguments given as one template \("\{\{ copy_args \}\}"\) are not supported: write the arguments of copy as a mapping/);
  });

  it("YAML 1.1's yes/no/on/off are booleans; 0644 and 644 stay the file mode they read as", () => {
    const [t] = tasksOf('- hosts: all\n  become: yes\n  gather_facts: no\n  tasks:\n    - file: { path: /tmp/x, state: touch, mode: 0644 }\n      ignore_errors: yes\n      no_log: off\n');
    expect(t).toMatchObject({ ignoreErrors: true, noLog: false, args: { mode: 644 } });
    expect(parse('- hosts: all\n  become: yes\n  gather_facts: no\n').plays[0]).toMatchObject({ become: true, gatherFacts: false });
  });

  it('remote_user on plays and tasks is the login user, not a misspelled become_user', () => {
    const pb = parse('- hosts: all\n  remote_user: deploy\n  tasks:\n    - command: id\n      remote_user: admin\n');
    expect(pb.plays[0]).toMatchObject({ remoteUser: 'deploy', tasks: [{ remoteUser: 'admin' }] });
  });
});

describe('with_* loops', () => {
  it('become a loop built as the lookup builds it', () => {
    const [a, b, c] = tasksOf('- hosts: all\n  tasks:\n    - command: echo {{ item }}\n      with_items: "{{ users }}"\n    - command: echo {{ item.key }}\n      with_dict: { a: 1 }\n    - command: echo {{ item }}\n      with_sequence: count=3\n');
    expect([a!.loop, a!.loopWith, b!.loopWith, c!.loop, c!.loopWith]).toEqual(['{{ users }}', 'items', 'dict', 'count=3', 'sequence']);
  });

  it('two loops, and lookups provision has not, are refused by name', () => {
    expect(bad('- hosts: all\n  tasks:\n    - command: ls\n      loop: [1]\n      with_items: [2]\n    - copy: src={{ item }} dest=/etc/\n      with_lines: cat files.txt\n')).toEqual([
      'pb.yaml:5:7 [0].tasks[0]: one loop per task: loop, with_items given',
      'pb.yaml:7:7 [0].tasks[1]: with_lines is not supported (a loop over the lines lookup): supported are with_items, with_list, with_dict, with_subelements, with_together, with_sequence, with_indexed_items, with_nested, with_cartesian, with_fileglob, and loop:',
    ]);
  });
});

describe('blocks', () => {
  it('pass when, tags, become, vars and ignore_errors down to block, rescue and always', () => {
    const pb = parse(`- hosts: all
  tasks:
    - name: outer
      block:
        - command: one
          when: b
          tags: inner
        - block:
            - command: two
          vars: { y: 2 }
      rescue:
        - command: three
      always:
        - command: four
          become: false
      when: a
      become: true
      tags: [outer]
      vars: { x: 1 }
      ignore_errors: true
`);
    const block = pb.plays[0]!.body.find((i) => !isTask(i) && i.kind === "block") as BlockDef;
    expect(block).toMatchObject({ kind: 'block', name: 'outer' });
    const [one, two, three, four] = pb.plays[0]!.tasks;
    expect(one).toMatchObject({ when: ['a', 'b'], tags: ['outer', 'inner'], become: true, vars: { x: 1 }, ignoreErrors: true });
    expect(two).toMatchObject({ when: ['a'], vars: { x: 1, y: 2 } });
    expect(three).toMatchObject({ when: ['a'], become: true });
    expect(four).toMatchObject({ when: ['a'], become: false });
  });

  it('a keyword a block cannot take is refused with the ones it can', () => {
    expect(bad('- hosts: all\n  tasks:\n    - block: [{ command: ls }]\n      notify: x\n')).toEqual([
      'pb.yaml:4:7 [0].tasks[0]: unknown key "notify" on a block (allowed: name, when, tags, vars, ignore_errors, no_log, become, become_user, remote_user, check_mode, timeout, block, rescue, always)',
    ]);
  });
});

describe('task files: import_tasks, include_tasks, legacy include', () => {
  it('import_tasks puts the tasks in place with its keywords; errors point into the file', () => {
    const root = tree({
      'pb.yml': '- hosts: all\n  tasks:\n    - import_tasks: tasks/a.yml\n      when: x\n      tags: t\n      vars: { v: 1 }\n',
      'tasks/a.yml': '- command: one\n- import_tasks: b.yml\n',
      'tasks/b.yml': '- command: two\n',
    });
    const t = loadPlaybook(join(root, 'pb.yml'), registry).plays[0]!.tasks;
    expect(t.map((x) => [x.args, where(x), x.when, x.tags, x.vars])).toEqual([
      ['one', 'a.yml:1', ['x'], ['t'], { v: 1 }],
      ['two', 'b.yml:1', ['x'], ['t'], { v: 1 }],
    ]);
    writeFileSync(join(root, 'tasks/b.yml'), '- command: two\n- user: { name: x, shel: /bin/sh }\n');
    expect(errorsOf(() => loadPlaybook(join(root, 'pb.yml'), registry))[0]).toMatch(/tasks\/b\.yml:2:20 \[1\]\.user: unknown key "shel" \(did you mean "shell"\?/);
  });

  it('missing files, imports of themselves, and loops on imports are refused', () => {
    const root = tree({ 'pb.yml': '- hosts: all\n  tasks:\n    - import_tasks: nope.yml\n    - import_tasks: self.yml\n    - import_tasks: x.yml\n      loop: [1]\n', 'self.yml': '- import_tasks: self.yml\n', 'x.yml': '[]' });
    expect(errorsOf(() => loadPlaybook(join(root, 'pb.yml'), registry)).map((l) => l.replaceAll(root, 'ROOT'))).toEqual([
      `ROOT/pb.yml:3:21 [0].tasks[0].import_tasks: task file "nope.yml" not found (looked in ROOT)`,
      'ROOT/pb.yml:6:13 [0].tasks[2].loop: import_tasks cannot loop (it is read when the playbook is loaded): use include_tasks',
      `ROOT/self.yml:1:17 [0].import_tasks: ROOT/self.yml includes itself (ROOT/self.yml → ROOT/self.yml)`,
    ]);
  });

  it('include_tasks is an include evaluated at run time; a templated name is checked for every file it can name', () => {
    const root = tree({
      'pb.yml': '- hosts: all\n  tasks:\n    - include_tasks: "os/{{ ansible_os_family }}.yml"\n      when: ok\n      loop: [1, 2]\n      tags: t\n      vars: { v: 1 }\n',
      'os/Debian.yml': '- command: deb {{ item }}\n',
      'os/RedHat.yml': '- command: rh {{ v }}\n',
    });
    const inc = flatIncludes(loadPlaybook(join(root, "pb.yml"), registry).plays[0]!.body)[0]!;
    expect(inc).toMatchObject({ kind: 'include', target: 'os/{{ ansible_os_family }}.yml', when: ['ok'], loop: [1, 2], tags: ['t'], vars: { v: 1 } });
    expect(inc.choices.map((c) => [c.file.replace(root, ''), (c.items[0] as TaskDef).args, (c.items[0] as TaskDef).tags, (c.items[0] as TaskDef).when])).toEqual([
      ['/os/Debian.yml', 'deb {{ item }}', [], undefined],
      ['/os/RedHat.yml', 'rh {{ v }}', [], undefined],
    ]);
    writeFileSync(join(root, 'os/RedHat.yml'), '- copy: { dest: 1 }\n');
    expect(errorsOf(() => loadPlaybook(join(root, 'pb.yml'), registry))[0]).toMatch(/os\/RedHat\.yml:1:17 \[0\]\.copy\.dest: expected string, got number/);
    writeFileSync(join(root, 'pb.yml'), '- hosts: all\n  tasks:\n    - include_tasks: "nowhere/{{ x }}.yml"\n');
    expect(errorsOf(() => loadPlaybook(join(root, 'pb.yml'), registry))[0]).toMatch(/task file "nowhere\/\{\{ x \}\}\.yml" not found for any value of its variables/);
  });

  it('legacy include: static (with its tags and k=v parameters) unless templated or looped', () => {
    const root = tree({ 'pb.yml': '- hosts: all\n  tasks:\n    - include: tasks/base.yml release=2\n      tags: [base]\n    - include: tasks/base.yml\n      with_items: [1]\n', 'tasks/base.yml': '- command: echo $release\n' });
    const body = loadPlaybook(join(root, "pb.yml"), registry).plays[0]!.body.filter((i) => isTask(i) || i.kind !== "flush");
    expect(body[0]).toMatchObject({ args: 'echo $release', tags: ['base'], vars: { release: '2' } });
    expect(body[1]).toMatchObject({ kind: 'include', loopWith: 'items' });
  });

  it("include's keywords are Ansible's: become on an include is refused", () => {
    expect(bad('- hosts: all\n  tasks:\n    - include_tasks: x.yml\n      become: true\n')[0]).toMatch(
      /unknown key "become" on include_tasks \(allowed: name, when, tags, vars, ignore_errors, no_log, loop, loop_var, loop_control, timeout, args\)/,
    );
  });
});

describe('roles', () => {
  const pb = () => loadPlaybook(join(fixtures, 'site.yml'), registry);

  it('run dependencies first and a role once per play; tasks carry the role, its files dirs first', () => {
    const play = pb().plays[0]!;
    expect(play.tasks.map((t) => `${t.role?.name ?? '-'} ${t.name}`)).toEqual([
      '- apt cache',
      'common common file',
      'web web config',
      'app app dir',
      '- motd',
      '- extra file',
      '- debug msg={{ ansible_failed_task.name }}',
      '- meta flush_handlers',
      '- debug msg=debian {{ item }}',
      '- extra file',
      '- debug msg=redhat {{ item }}',
      '- done',
    ]);
    const web = play.tasks[2]!;
    expect(web.role).toMatchObject({ defaults: { web_port: 80, web_user: 'www-data' }, vars: { web_conf: '/etc/web.conf' }, params: { web_port: 8080 } });
    expect(web.searchPath).toEqual([join(fixtures, 'roles/web'), join(fixtures, 'roles/web/tasks'), fixtures]);
    expect(web.tags).toEqual(['web']);
  });

  it("the play sees its roles' defaults and vars; role handlers join the play's, also as ROLE : NAME", () => {
    const play = pb().plays[0]!;
    expect(play.roleDefaults).toEqual({ web_port: 80, web_user: 'www-data' });
    expect(play.roleVars).toEqual({ web_conf: '/etc/web.conf' });
    expect(play.handlers.map((h) => [h.name, h.listen, h.role?.name])).toEqual([['reload web', ['web : reload web'], 'web']]);
  });

  it('include_role is an include whose tasks see its vars and its role', () => {
    const inc = flatIncludes(pb().plays[0]!.body).find((i) => i.target === 'app')!;
    expect(inc.choices[0]!.items[0]).toMatchObject({ role: { name: 'app' }, vars: { app_name: 'x' } });
  });

  it('pre_tasks, roles, tasks, post_tasks in order with the handlers flushed after each part', () => {
    const kinds = (items: PlayItem[]) => items.map((i) => (isTask(i) ? 'task' : i.kind));
    expect(kinds(pb().plays[0]!.body)).toEqual(['task', 'flush', 'task', 'task', 'include', 'block', 'include', 'flush', 'task', 'flush']);
  });

  it('a role that is not found, and a dependency loop, are refused', () => {
    const root = tree({ 'pb.yml': '- hosts: all\n  roles: [a, nope]\n', 'roles/a/meta/main.yml': 'dependencies: [b]\n', 'roles/b/meta/main.yml': 'dependencies: [a]\n' });
    expect(errorsOf(() => loadPlaybook(join(root, 'pb.yml'), registry)).map((l) => l.replaceAll(root, 'ROOT'))).toEqual([
      'ROOT/pb.yml:2:14 [0].roles[1]: role "nope" not found (looked in ROOT/roles, ROOT)',
      'ROOT/roles/b/meta/main.yml:1:16 dependencies[0]: role a depends on itself (a → b → a)',
    ]);
  });
});

describe('plays', () => {
  it('vars_files: static files are read now, a list entry is the first that exists, a missing one is refused', () => {
    const play = pb2().plays[0]!;
    expect(play.varsFilesVars).toEqual({ motd: 'Welcome' });
    expect(play.varsFiles.map((r) => [r.names, Object.keys(r.files).map((f) => f.replace(fixtures, ''))])).toEqual([
      [['vars/{{ site_name }}.yml', 'vars/default.yml'], ['/vars/common.yml', '/vars/default.yml']],
    ]);
    const root = tree({ 'pb.yml': '- hosts: all\n  vars_files: [[a.yml, b.yml], c.yml]\n', 'b.yml': 'x: 1\n' });
    expect(errorsOf(() => loadPlaybook(join(root, 'pb.yml'), registry))).toEqual([`${root}/pb.yml:2:32 [0].vars_files[1]: vars_files: "c.yml" not found (looked in ${root})`]);
    writeFileSync(join(root, 'c.yml'), 'y: 2\n');
    expect(loadPlaybook(join(root, 'pb.yml'), registry).plays[0]!.varsFilesVars).toEqual({ x: 1, y: 2 });
  });

  it("import_playbook: the imported plays, its when on every task, its vars over the plays'", () => {
    const imported = pb2().plays[1]!;
    expect(imported).toMatchObject({ vars: { other_var: 2 }, tasks: [{ module: 'shell', when: ['run_other | default(true)'], args: { cmd: 'echo {{ other_var }}', chdir: '/tmp' } }] });
  });

  it('a legacy play-level include imports a playbook', () => {
    const root = tree({ 'pb.yml': '- include: other.yml\n', 'other.yml': '- hosts: all\n  tasks: [{ command: ls }]\n' });
    expect(loadPlaybook(join(root, 'pb.yml'), registry).plays.map((p) => p.tasks.length)).toEqual([1]);
  });

  it('notify must name a handler of the play, its roles included', () => {
    expect(bad('- hosts: all\n  tasks:\n    - command: ls\n      notify: restart apache\n  handlers:\n    - name: Restart apache\n      command: ls\n')).toEqual([
      'pb.yaml:4:15 [0].tasks[0].notify: no handler named "restart apache" in this play (did you mean "Restart apache"?); handlers: Restart apache',
    ]);
  });
});

function pb2() {
  return loadPlaybook(join(fixtures, 'site.yml'), registry);
}
