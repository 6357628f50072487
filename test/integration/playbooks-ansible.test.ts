/**
 * Real Ansible playbook structure over SSH on one fleet host: a role (defaults,
 * role parameters, templates/, handlers), FQCN and key=value spellings,
 * with_items, pre_tasks with set_fact and assert, vars_files, include_tasks,
 * block/rescue/always with fail, meta end_host, Ansible's apt. It converges (check
 * predicts apply, a second apply changes nothing) and every effect is read
 * with cat and stat through docker exec, never through our planner.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => !i.name.endsWith('-systemd'));

function files(root: string, tree: Record<string, string>): void {
  for (const [path, text] of Object.entries(tree)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

describe.each(images)('Ansible playbook structure on $name', ({ name, present }) => {
  let fleet: Fleet;
  const cat = async (path: string): Promise<string> => (await fleet.hosts[0]!.container.exec(['sh', '-c', `cat ${path}`])).stdout;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('a role, includes, blocks, set_fact, assert and handlers converge; the files hold what Ansible would write', async () => {
    files(fleet.dir, {
      'roles/site/defaults/main.yml': 'site_port: 80\nsite_owner: nobody\n',
      'roles/site/templates/site.conf.j2': 'port={{ site_port }} family={{ fam }}\n',
      'roles/site/handlers/main.yml': '- name: site changed\n  copy: { dest: /etc/site.handled, content: "flushed {{ site_port }}\\n" }\n',
      'roles/site/tasks/main.yml': [
        '- name: site config',
        '  ansible.builtin.template: src=site.conf.j2 dest=/etc/site.conf mode=0640',
        '  notify: site changed',
        '- name: markers',
        '  copy: dest=/etc/site-{{ item }} content="{{ item }} of {{ site_owner }}"',
        '  with_items: [a, b]',
        '',
      ].join('\n'),
      'vars/common.yml': 'greeting: hello\n',
      'extra.yml': '- name: extra\n  ansible.builtin.copy: { dest: /etc/extra.conf, content: "{{ greeting }} {{ part }}\\n" }\n',
    });
    const play = `
- hosts: all
  remote_user: root
  vars_files: [vars/common.yml]
  pre_tasks:
    - set_fact: fam="{{ ansible_facts['os_family'] }}"
    - assert: { that: ["fam == 'Debian'", greeting is defined] }
  roles:
    - { role: site, site_port: 8080 }
  tasks:
    - include_tasks: extra.yml
      vars: { part: included }
    - block:
        - name: refuse
          fail: { msg: on purpose }
      rescue:
        - name: rescued
          copy: { dest: /etc/rescued, content: "{{ ansible_failed_task.name }}: {{ ansible_failed_result.msg }}\\n" }
      always:
        - name: always
          copy: { dest: /etc/always, content: "yes\\n" }
`;
    const c = await converge(fleet, play);
    const host = fleet.hosts[0]!.name;
    expect(keysOf(c.apply, 'changed')).toEqual(
      ['site config', 'markers (item=a)', 'markers (item=b)', 'site changed', 'extra', 'rescued', 'always'].map((t) => `${host}: ${t}`).sort(),
    );
    expect(await cat('/etc/site.conf')).toBe('port=8080 family=Debian\n');
    expect((await fleet.hosts[0]!.container.exec(['stat', '-c', '%a', '/etc/site.conf'])).stdout).toBe('640\n');
    expect(await cat('/etc/site-a /etc/site-b')).toBe('a of nobodyb of nobody');
    expect(await cat('/etc/site.handled')).toBe('flushed 8080\n');
    expect(await cat('/etc/extra.conf')).toBe('hello included\n');
    expect(await cat('/etc/rescued /etc/always')).toBe('refuse: on purpose\nyes\n');
  });

  it.skipIf(!present)('a failing assert stops the host before later tasks, with its message; meta end_host ends the play quietly', async () => {
    const failed = await runPlaybook(fleet, `
- hosts: all
  tasks:
    - name: family
      assert: { that: "ansible_facts.os_family == 'RedHat'", fail_msg: needs a RedHat host }
    - name: never
      copy: { dest: /etc/never, content: x }
`);
    expect(failures(failed)).toEqual([`${fleet.hosts[0]!.name}: family: needs a RedHat host (assertion: ansible_facts.os_family == 'RedHat')`]);
    const ended = await runPlaybook(fleet, `
- hosts: all
  tasks:
    - meta: end_host
      when: ansible_facts.os_family == 'Debian'
    - name: never
      copy: { dest: /etc/never, content: x }
`);
    expect(failures(ended)).toEqual([]);
    expect(ended.exitCode).toBe(0);
    expect((await fleet.hosts[0]!.container.exec(['test', '-e', '/etc/never'])).exitCode).toBe(1);
  });
  it.skipIf(!present)("apt as Ansible's apt (key=value, update_cache, state absent); dnf on this apt host fails naming the manager", async () => {
    const status = async (): Promise<string> => (await fleet.hosts[0]!.container.exec(['sh', '-c', "dpkg-query -W -f '${Status}' tree 2>/dev/null; true"])).stdout;
    const play = (state: string) => `- hosts: all\n  tasks:\n    - name: tree\n      ansible.builtin.apt: name=tree state=${state} update_cache=yes\n`;
    const host = fleet.hosts[0]!.name;
    expect(keysOf((await converge(fleet, play('present'))).apply, 'changed')).toEqual([`${host}: tree`]);
    expect(await status()).toBe('install ok installed');
    expect(keysOf((await converge(fleet, play('absent'))).apply, 'changed')).toEqual([`${host}: tree`]);
    expect(await status()).not.toContain('installed');
    const dnf = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: tree\n      dnf: { name: tree }\n');
    expect(failures(dnf)).toEqual([`${host}: tree: dnf: this host's package manager is apt, not dnf (package: picks the host's own)`]);
  });
  it.skipIf(!present)("user groups given as Ansible's comma text", async () => {
    await converge(fleet, '- hosts: all\n  tasks:\n    - name: member\n      user: name=grpusr groups="adm, users" create_home=no\n');
    expect((await fleet.hosts[0]!.container.exec(['id', '-nG', 'grpusr'])).stdout).toBe('grpusr adm users\n');
  });
});
