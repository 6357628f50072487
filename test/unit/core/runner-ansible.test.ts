/**
 * Ansible's playbook structure at run time, on local "hosts" (each a shell in
 * a temp directory): what happened is read from the files the tasks wrote,
 * not from our results. The semantics are Ansible's, checked against
 * ansible-playbook -c local on the same playbooks (block/rescue/always,
 * include_tasks evaluated once, set_fact across plays, handler flushes,
 * meta end_host/end_play without handlers).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connections/local.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { loadPlaybook } from '../../../src/core/playbook.js';
import type { TaskResult } from '../../../src/core/results.js';
import { run, type RunOptions } from '../../../src/core/runner.js';
import { registry } from '../../../src/tasks/index.js';

const INVENTORY = 'all:\n  children:\n    web:\n      hosts:\n        web1.example.com: { n: 1 }\n        web2: { n: 2 }\n';

/** A playbook (and its other files) in a temp directory; ROOT in any text is that directory. */
function setup(files: Record<string, string>, extra: Partial<RunOptions> = {}) {
  const root = mkdtempSync(join(tmpdir(), 'provision-ansible-run-'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text.replaceAll('ROOT', root));
  }
  const inventory = parseInventory(INVENTORY, 'inv.yaml');
  const go = (opts: Partial<RunOptions> = {}) =>
    run({ inventory, playbook: loadPlaybook(join(root, 'pb.yml'), registry), registry, connect: async (spec) => new LocalConnection(spec.name), ...extra, ...opts });
  const read = (p: string) => (existsSync(join(root, p)) ? readFileSync(join(root, p), 'utf8') : '(none)');
  return { root, go, read };
}

const line = (r: TaskResult) => `${r.host} ${r.status}${r.ignored ? ' (ignored)' : ''} ${r.task}`;

describe('blocks', () => {
  it('a failure in block runs rescue with the failed task and result; always runs; the host goes on', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web2
  tasks:
    - block:
        - name: breaks
          command: "false"
        - shell: echo not reached >> ROOT/log
      rescue:
        - shell: echo "rescued {{ ansible_failed_task.name }} rc={{ ansible_failed_result.rc }}" >> ROOT/log
      always:
        - shell: echo always >> ROOT/log
    - shell: echo after >> ROOT/log
`,
    });
    const s = await go();
    expect(read('log')).toBe('rescued breaks rc=1\nalways\nafter\n');
    expect(s.results.find((r) => r.task === 'breaks')).toMatchObject({ status: 'failed', ignored: true, message: 'rescued: run: false: exit 1' });
    expect(s.hosts[0]).toMatchObject({ failed: 0, ignored: 1 });
    expect(s.exitCode).toBe(0);
  });

  it('a failing rescue fails the host after always; without rescue always still runs', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web2
  tasks:
    - block:
        - command: "false"
      rescue:
        - command: "false"
      always:
        - shell: echo always1 >> ROOT/log
    - shell: echo not reached >> ROOT/log
- hosts: web1.example.com
  tasks:
    - block:
        - command: "false"
      always:
        - shell: echo always2 >> ROOT/log
`,
    });
    const s = await go();
    expect(read('log').split('\n').sort()).toEqual(['', 'always1', 'always2']);
    expect(s.hosts.map((h) => [h.host, h.failed])).toEqual([
      ['web2', 1],
      ['web1.example.com', 1],
    ]);
    expect(s.exitCode).toBe(2);
  });

  it("a block's when is evaluated for each of its tasks, as Ansible does", async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web2
  vars: { go_on: true }
  tasks:
    - block:
        - shell: echo one >> ROOT/log
        - set_fact: { go_on: false }
        - shell: echo two >> ROOT/log
      when: go_on
`,
    });
    await go();
    expect(read('log')).toBe('one\n');
  });
});

describe('includes', () => {
  it("include_tasks: its when once, its loop item and vars in the included tasks, the file chosen by its rendered name", async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web2
  vars: { run_it: true, os: linux }
  tasks:
    - include_tasks: "tasks/{{ os }}.yml"
      when: run_it
      loop: [a, b]
      vars: { suffix: "!" }
`,
      'tasks/linux.yml': '- shell: echo "{{ item }}{{ suffix }}" >> ROOT/log\n- set_fact: { run_it: false }\n',
      'tasks/other.yml': '- shell: echo other >> ROOT/log\n',
    });
    await go();
    // the condition is not evaluated again for the second item, nor for each included task
    expect(read('log')).toBe('a!\nb!\n');
  });

  it('a rendered name that is none of the files checked at load fails the host, naming them', async () => {
    const { go } = setup({ 'pb.yml': '- hosts: web2\n  vars: { os: plan9 }\n  tasks:\n    - include_tasks: "tasks/{{ os }}.yml"\n', 'tasks/linux.yml': '- command: "true"\n' });
    const s = await go();
    expect(s.results.map(line)).toEqual([`web2 failed include_tasks tasks/{{ os }}.yml`]);
    expect(s.results[0]!.message).toMatch(/^tasks\/plan9\.yml is not one of the files checked when the playbook was loaded \(.*tasks\/linux\.yml\)$/);
  });
});

describe('roles', () => {
  it('role files/ are found first, defaults lose to inventory, role vars and params win, handlers run', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web
  roles:
    - role: site
      where: ROOT
`,
      'roles/site/defaults/main.yml': 'n: 99\nport: 80\n',
      'roles/site/vars/main.yml': 'name_in_role: "from role vars"\n',
      'roles/site/tasks/main.yml': `- copy: { src: page.html, dest: "{{ where }}/{{ inventory_hostname }}.html" }
  notify: reloaded
- shell: echo "{{ n }} {{ port }} {{ name_in_role }} {{ role_name }} {{ role_path | basename }}" > {{ where }}/{{ inventory_hostname }}.vars
`,
      'roles/site/files/page.html': 'from the role\n',
      'files/page.html': 'from the playbook\n',
      'roles/site/handlers/main.yml': '- name: reloaded\n  shell: echo reloaded > {{ where }}/{{ inventory_hostname }}.handler\n',
    });
    const s = await go();
    expect(s.exitCode).toBe(0);
    expect(read('web2.html')).toBe('from the role\n');
    expect(read('web2.vars')).toBe('2 80 from role vars site site\n');
    expect(read('web1.example.com.handler')).toBe('reloaded\n');
  });
});

describe('control tasks', () => {
  it('set_fact is seen by later tasks and plays, item by item in a loop; include_vars loads a file', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web2
  tasks:
    - set_fact: { acc: [] }
    - set_fact: { acc: "{{ acc + [item] }}" }
      loop: [x, y]
    - include_vars: extra.yml
    - set_fact: enabled=yes
- hosts: web2
  tasks:
    - shell: echo "{{ acc | join(',') }} {{ from_file }} {{ enabled is boolean and enabled }}" > ROOT/out
`,
      'vars/extra.yml': 'from_file: loaded\n',
    });
    const s = await go();
    expect(s.exitCode).toBe(0);
    expect(read('out')).toBe('x,y loaded True\n');
  });

  it('debug shows its message, masked; assert and fail stop the host with their message', async () => {
    const { go } = setup({
      'pb.yml': `- hosts: web2
  vars: { db_password: hunter2 }
  tasks:
    - debug: msg="pw={{ db_password }} host={{ inventory_hostname_short }}"
    - debug: { var: undefined_thing }
    - assert: { that: ["n == 2", "n > 1"], success_msg: fine }
    - assert: { that: "n == 3", fail_msg: "n is not 3" }
- hosts: web1.example.com
  tasks:
    - fail: msg="stop here"
      when: n == 1
`,
    });
    const s = await go();
    expect(s.results.map((r) => `${r.host} ${r.status} ${r.message}`)).toEqual([
      'web2 ok pw=******** host=web2',
      'web2 ok undefined_thing: VARIABLE IS NOT DEFINED!',
      'web2 ok fine',
      'web2 failed n is not 3 (assertion: n == 3)',
      'web1.example.com failed stop here',
    ]);
  });

  it('meta: flush_handlers runs them now; end_host stops this host and end_play every host, without their handlers', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web
  tasks:
    - shell: echo t1 >> ROOT/{{ inventory_hostname }}
      notify: h
    - meta: flush_handlers
    - meta: end_host
      when: n == 1
    - shell: echo t2 >> ROOT/{{ inventory_hostname }}
      notify: h
    - meta: end_play
    - shell: echo never >> ROOT/{{ inventory_hostname }}
  handlers:
    - name: h
      shell: echo handler >> ROOT/{{ inventory_hostname }}
- hosts: web
  tasks:
    - shell: echo next-play >> ROOT/{{ inventory_hostname }}
`,
    });
    const s = await go();
    expect(read('web1.example.com')).toBe('t1\nhandler\nnext-play\n');
    expect(read('web2')).toBe('t1\nhandler\nt2\nnext-play\n');
    expect(s.exitCode).toBe(0);
  });
});

describe('plays', () => {
  it('pre_tasks, roles, tasks, post_tasks run in order with handlers flushed after each part', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web2
  pre_tasks:
    - shell: echo pre >> ROOT/log
      notify: h
  roles: [r]
  tasks:
    - shell: echo task >> ROOT/log
      notify: h
  post_tasks:
    - shell: echo post >> ROOT/log
      notify: h
  handlers:
    - name: h
      shell: echo handler >> ROOT/log
`,
      'roles/r/tasks/main.yml': '- shell: echo role >> ROOT/log\n',
    });
    await go();
    expect(read('log')).toBe('pre\nhandler\nrole\ntask\nhandler\npost\nhandler\n');
  });

  it('vars_files: a templated name is resolved per host, the first that exists', async () => {
    const { go, read } = setup({
      'pb.yml': `- hosts: web
  vars_files:
    - common.yml
    - ["vars/{{ inventory_hostname }}.yml", vars/default.yml]
  tasks:
    - shell: echo "{{ common }} {{ who }}" > ROOT/{{ inventory_hostname }}
`,
      'common.yml': 'common: c\n',
      'vars/web2.yml': 'who: web2-file\n',
      'vars/default.yml': 'who: default\n',
    });
    await go();
    expect([read('web2'), read('web1.example.com')]).toEqual(['c web2-file\n', 'c default\n']);
  });

  it('magic variables: hostvars (lazily, rendered in that host), play hosts, facts under ansible_facts, playbook_dir', async () => {
    const { root, go, read } = setup({
      'pb.yml': `- hosts: web
  vars: { double: "{{ n * 2 }}" }
  tasks:
    - set_fact: { mine: "{{ inventory_hostname }}-fact" }
    - shell: >
        echo "{{ hostvars['web2'].n }} {{ hostvars['web2'].mine | default('unset') }} {% for h in groups.web %}{{ hostvars[h].n }}{% endfor %}
        {{ ansible_play_hosts | join(',') }} {{ ansible_facts.os_family == ansible_os_family }} {{ playbook_dir == 'ROOT' }}" > ROOT/{{ inventory_hostname }}
      when: inventory_hostname == 'web1.example.com'
`,
    });
    const s = await go();
    expect(s.exitCode, s.results.map((r) => r.message).join('\n')).toBe(0);
    expect(read('web1.example.com').replace(root, 'ROOT')).toMatch(/^2 (web2-fact|unset) 12 web1\.example\.com,web2 True True\n$/);
  });
});
