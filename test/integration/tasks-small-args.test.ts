/**
 * Small Ansible arguments over real SSH, read from outside provision through
 * docker exec: stat's get_md5 (compared with md5sum), lineinfile's
 * search_string (the file's text), with_fileglob (the files copied from the
 * playbook's files/ directory, listed with ls and read with cat), home_dirs
 * and file's skip_missing (modes read with stat).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, keysOf } from './harness.js';

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

async function sh(fleet: Fleet, command: string): Promise<string> {
  return (await fleet.hosts[0]!.container.exec(['sh', '-c', command])).stdout;
}

describe.each(images)('stat get_md5, lineinfile search_string, with_fileglob on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('stat get_md5 registers the md5 md5sum prints', async () => {
    await sh(fleet, 'printf "some text\\n" > /etc/md5-me');
    const c = await converge(
      fleet,
      `
- hosts: all
  tasks:
    - stat: { path: /etc/md5-me, get_md5: yes }
      register: st
    - copy: { dest: /tmp/md5-seen, content: "{{ st.stat.md5 }}\\n" }
`,
    );
    expect(keysOf(c.apply, 'changed')).toHaveLength(1);
    expect(await sh(fleet, 'cat /tmp/md5-seen')).toBe(await sh(fleet, "md5sum < /etc/md5-me | cut -d' ' -f1"));
  }, 120_000);

  it.skipIf(!present)('lineinfile search_string replaces the last line containing the text, and removes every one with state: absent', async () => {
    await sh(fleet, "printf 'export A=1\\nsource k3s # Added by k3s-ansible (v1.*)\\nalias k=kubectl # Added by k3s-ansible (v1.*)\\n' > /root/.bashrc-test");
    await converge(fleet, '- hosts: all\n  tasks:\n    - lineinfile: { path: /root/.bashrc-test, search_string: "alias k=", line: "alias k=kubectl" }\n');
    expect(await sh(fleet, 'cat /root/.bashrc-test')).toBe('export A=1\nsource k3s # Added by k3s-ansible (v1.*)\nalias k=kubectl\n');
    await converge(fleet, '- hosts: all\n  tasks:\n    - lineinfile: { path: /root/.bashrc-test, search_string: "(v1.*)", state: absent }\n');
    expect(await sh(fleet, 'cat /root/.bashrc-test')).toBe('export A=1\nalias k=kubectl\n');
  }, 120_000);

  it.skipIf(!present)("with_fileglob copies each file the glob finds in the playbook's files/", async () => {
    mkdirSync(join(fleet.dir, 'files', 'fooapp'), { recursive: true });
    for (const f of ['a.conf', 'b.conf', 'skip.txt']) writeFileSync(join(fleet.dir, 'files', 'fooapp', f), `${f}\n`);
    const c = await converge(
      fleet,
      `
- hosts: all
  tasks:
    - file: dest=/etc/fooapp state=directory
    - copy: src={{ item }} dest=/etc/fooapp/ owner=root mode=600
      with_fileglob: fooapp/*.conf
`,
    );
    // the directory, then one result per file
    expect(keysOf(c.apply, 'changed')).toHaveLength(3);
    expect(await sh(fleet, 'ls /etc/fooapp')).toBe('a.conf\nb.conf\n');
    expect(await sh(fleet, 'cat /etc/fooapp/a.conf /etc/fooapp/b.conf')).toBe('a.conf\nb.conf\n');
    expect(await sh(fleet, 'stat -c %a /etc/fooapp/a.conf')).toBe('600\n');
  }, 120_000);

  it.skipIf(!present)("home_dirs narrows interactive users' homes only, and file skip_missing leaves absent paths absent", async () => {
    await sh(
      fleet,
      [
        "useradd -u 2001 -m -s /bin/bash hd_open && chmod 0755 /home/hd_open",
        "mkdir -p '/srv/odd home' && useradd -u 2002 -d '/srv/odd home' -s /bin/sh hd_odd && chown hd_odd '/srv/odd home' && chmod 0777 '/srv/odd home'",
        'useradd -u 2005 -d /tmp -s /bin/bash hd_tmp',
        'useradd -u 2003 -m -s /usr/sbin/nologin hd_svc && chmod 0777 /home/hd_svc',
        'useradd -u 2004 -d /home/hd_gone -s /bin/bash hd_gone',
        'mkdir -p /home/hd_low && useradd -u 999 -d /home/hd_low -s /bin/bash hd_low && chmod 0777 /home/hd_low',
        'rm -f /etc/skip-me',
      ].join(' && '),
    );
    const c = await converge(
      fleet,
      `
- hosts: all
  tasks:
    - home_dirs: { mode: "g-w,o-rwx", uid_min: 2000, uid_max: 2999 }
    - file: { path: "{{ item }}", mode: "0600", skip_missing: true }
      loop: [/etc/skip-me, /etc/hostname]
`,
    );
    expect(keysOf(c.apply, 'changed')).toHaveLength(2);
    const message = c.apply.results.find((r) => r.status === 'changed' && r.message.includes('/home/hd_open'))?.message;
    expect(message).toContain('hd_gone (no directory /home/hd_gone)');
    expect(message).toContain('hd_tmp (/tmp is owned by root, not by the user)');
    expect((await sh(fleet, "stat -c '%n %a' /home/hd_open '/srv/odd home' /home/hd_svc /home/hd_low /tmp /etc/hostname")).split('\n').filter(Boolean)).toEqual([
      '/home/hd_open 750',
      '/srv/odd home 750',
      '/home/hd_svc 777',
      '/home/hd_low 777',
      '/tmp 1777',
      '/etc/hostname 600',
    ]);
    expect(await sh(fleet, 'test -e /etc/skip-me || test -e /home/hd_gone || echo none')).toBe('none\n');
  }, 180_000);
});
