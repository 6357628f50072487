/**
 * The task types Ansible playbooks use most, over real SSH on the fleet: each
 * converges (check predicts apply, a second apply changes nothing, no drift)
 * and its effect is read from outside provision, through `docker exec` (cat,
 * stat, getent, sha256sum, systemctl, dpkg-query), never through our planner.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => !i.name.endsWith('-systemd'));

/** Run one shell command as root on host `i` through docker exec (outside provision). */
async function sh(fleet: Fleet, i: number, command: string): Promise<{ exitCode: number; stdout: string }> {
  const r = await fleet.hosts[i]!.container.exec(['sh', '-c', command]);
  return { exitCode: r.exitCode, stdout: r.stdout };
}

const perHost = (fleet: Fleet, task: string): string[] => fleet.hosts.map((h) => `${h.name}: ${task}`).sort();

/** The same command's output on every host. */
async function onAll(fleet: Fleet, command: string): Promise<string[]> {
  return Promise.all(fleet.hosts.map(async (_, i) => (await sh(fleet, i, command)).stdout));
}

describe.each(images)('Ansible task types on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (present) fleet = await startFleet({ count: 2, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('template: rendered from templates/ with the play\'s variables, mode/owner/group, validate, backup; copy finds src in files/', async () => {
    mkdirSync(join(fleet.dir, 'templates'), { recursive: true });
    mkdirSync(join(fleet.dir, 'files'), { recursive: true });
    writeFileSync(
      join(fleet.dir, 'templates', 'app.conf.j2'),
      '# {{ ansible_managed }}\n[app]\nname = {{ inventory_hostname }}\n{% for p in ports %}\nlisten = {{ p }}\n{% endfor %}\npath = {{ \'C:\\\\temp\' }}\n',
    );
    writeFileSync(join(fleet.dir, 'files', 'motd'), 'from files/\n');
    const play = (ports: string) => `
- hosts: all
  vars:
    ports: ${ports}
  tasks:
    - name: app config
      template: { src: app.conf.j2, dest: /etc/app.conf, owner: root, group: adm, mode: "0640", backup: true, validate: "grep -q '^listen = ' %s" }
    - name: motd
      copy: { src: motd, dest: /etc/motd.provision }
`;
    const expected = (host: string, ports: number[]) => `# Ansible managed\n[app]\nname = ${host}\n${ports.map((p) => `listen = ${p}\n`).join('')}path = C:\\temp\n`;

    const c1 = await converge(fleet, play('[80, 443]'));
    expect(keysOf(c1.apply, 'changed')).toEqual([...perHost(fleet, 'app config'), ...perHost(fleet, 'motd')].sort());
    const first = fleet.hosts[0]!.name;
    const diff = c1.check.results.find((r) => r.task === 'app config' && r.host === first)?.diffs[0];
    expect(diff?.after, 'check mode shows the rendered text').toBe(expected(first, [80, 443]));
    for (let i = 0; i < fleet.hosts.length; i++) {
      expect((await sh(fleet, i, 'cat /etc/app.conf')).stdout).toBe(expected(fleet.hosts[i]!.name, [80, 443]));
      expect((await sh(fleet, i, 'stat -c %U:%G:%a /etc/app.conf')).stdout).toBe('root:adm:640\n');
      expect((await sh(fleet, i, 'cat /etc/motd.provision')).stdout).toBe('from files/\n');
    }

    const c2 = await converge(fleet, play('[8080]'));
    expect(keysOf(c2.apply, 'changed')).toEqual(perHost(fleet, 'app config'));
    for (let i = 0; i < fleet.hosts.length; i++) {
      expect((await sh(fleet, i, 'cat /etc/app.conf')).stdout).toBe(expected(fleet.hosts[i]!.name, [8080]));
      // the backup holds the text before the change
      expect((await sh(fleet, i, 'cat /etc/app.conf.*.bak')).stdout).toBe(expected(fleet.hosts[i]!.name, [80, 443]));
    }

    // a rendering the validation refuses leaves the file as it was
    const refused = await runPlaybook(fleet, play('[]'));
    expect(keysOf(refused, 'failed')).toEqual(perHost(fleet, 'app config'));
    expect(failures(refused)[0]).toMatch(/validation failed: grep -q/);
    expect(await onAll(fleet, 'grep -c listen /etc/app.conf')).toEqual(fleet.hosts.map(() => '1\n'));
  });
});
