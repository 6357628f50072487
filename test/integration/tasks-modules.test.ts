/**
 * The task types the Ansible corpus asked for (issue #14): script, until /
 * retries, cron, unarchive and git, over real SSH on debian12. Each is applied
 * twice, check mode is compared with the apply, and the effect is read from
 * outside provision through `docker exec` (cat, crontab -l, ls, stat,
 * git rev-parse), never through our planner.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { converge, failures, keysOf, runPlaybook } from './harness.js';

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

/** Run one shell command as root on the host through docker exec (outside provision). */
async function sh(fleet: Fleet, command: string): Promise<{ exitCode: number; stdout: string }> {
  const r = await fleet.hosts[0]!.container.exec(['sh', '-c', command]);
  return { exitCode: r.exitCode, stdout: r.stdout };
}

describe.each(images)('Ansible modules on $name', ({ name, present }) => {
  let fleet: Fleet;
  let host: string;
  beforeAll(async () => {
    if (!present) return;
    fleet = await startFleet({ count: 1, image: name });
    host = fleet.hosts[0]!.name;
    mkdirSync(join(fleet.dir, 'files'), { recursive: true });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('script with until/retries: sent from files/, run until its output holds, attempts registered; creates makes it idempotent', async () => {
    writeFileSync(
      join(fleet.dir, 'files', 'count.sh'),
      '#!/bin/sh\nf=$1\nn=$(cat "$f" 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > "$f"\necho "count $n"\n[ $n -lt 3 ] || touch /var/tmp/counted\n',
    );
    const play = `
- hosts: all
  tasks:
    - name: count
      script: count.sh /var/tmp/counter
      args: { creates: /var/tmp/counted }
      register: result
      retries: 5
      delay: 0
      until: result.stdout.find("3") != -1
    - name: show
      debug: { msg: "attempts={{ result.attempts }}" }
      when: result is changed
`;
    const check = await runPlaybook(fleet, play, { check: true });
    expect(failures(check)).toEqual([]);
    expect(keysOf(check, 'skipped')).toContain(`${host}: count`);
    expect(keysOf(check, 'changed')).toEqual([]);
    expect((await sh(fleet, 'ls /var/tmp')).stdout, 'check mode ran nothing').toBe('');

    const apply = await runPlaybook(fleet, play);
    expect(failures(apply)).toEqual([]);
    expect(keysOf(apply, 'changed')).toEqual([`${host}: count`]);
    expect(apply.results.find((r) => r.task === 'show')?.message).toBe('attempts=3');
    expect((await sh(fleet, 'cat /var/tmp/counter')).stdout).toBe('3\n');
    expect((await sh(fleet, 'ls -A /tmp')).stdout, 'no temporary copy of the script is left').not.toMatch(/provision-script/);

    const again = await runPlaybook(fleet, play);
    expect(failures(again)).toEqual([]);
    expect(keysOf(again, 'changed')).toEqual([]);
    expect(again.results.find((r) => r.task === 'count')?.message).toBe('skipped, since /var/tmp/counted exists');
    expect((await sh(fleet, 'cat /var/tmp/counter')).stdout).toBe('3\n');

    // never holds: fails after retries + 1 attempts
    const never = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: never\n      script: count.sh /var/tmp/other\n      register: r\n      retries: 1\n      delay: 0\n      until: r.stdout == "nope"\n');
    expect(failures(never)).toEqual([`${host}: never: until is still false after 2 attempts: run script: count.sh /var/tmp/other`]);
    expect((await sh(fleet, 'cat /var/tmp/other')).stdout).toBe('2\n');
  });

  it.skipIf(!present)('cron: #Ansible: NAME entries in a user crontab and in /etc/cron.d, read by crontab -l and cat; an Ansible-written entry is updated in place', async () => {
    await sh(fleet, 'useradd -m cronuser');
    // a crontab Ansible wrote earlier: its entry is found by the marker and replaced, the other line kept
    await sh(fleet, 'printf "MAILTO=\\"\\"\\n#Ansible: restart dnsmasq if not running\\n5 * * * * old\\n" | crontab -u cronuser -');
    const play = (state: string) => `
- hosts: all
  tasks:
    - name: dnsmasq watchdog
      cron:
        name: "restart dnsmasq if not running"
        minute: "*"
        user: cronuser
        job: "/usr/bin/systemctl status dnsmasq || /usr/bin/systemctl restart dnsmasq"
        state: ${state}
    - name: app at boot
      cron: { name: "Start app", special_time: reboot, job: "/opt/app/start", user: cronuser, disabled: true }
    - name: path
      cron: { name: PATH, env: true, job: "/usr/local/bin:/usr/bin:/bin", user: cronuser }
    - name: cleanup
      cron: { name: cleanup, cron_file: provision-cleanup, user: root, minute: "*/10", hour: 3, job: "find /tmp -mtime +7 -delete", state: ${state} }
`;
    await converge(fleet, play('present'));
    expect((await sh(fleet, 'crontab -l -u cronuser')).stdout).toBe(
      'PATH=/usr/local/bin:/usr/bin:/bin\nMAILTO=""\n#Ansible: restart dnsmasq if not running\n* * * * * /usr/bin/systemctl status dnsmasq || /usr/bin/systemctl restart dnsmasq\n#Ansible: Start app\n#@reboot /opt/app/start\n',
    );
    expect((await sh(fleet, 'cat /etc/cron.d/provision-cleanup; stat -c %a:%U /etc/cron.d/provision-cleanup')).stdout).toBe('#Ansible: cleanup\n*/10 3 * * * root find /tmp -mtime +7 -delete\n644:root\n');

    await converge(fleet, play('absent'));
    expect((await sh(fleet, 'crontab -l -u cronuser')).stdout).toBe('PATH=/usr/local/bin:/usr/bin:/bin\nMAILTO=""\n#Ansible: Start app\n#@reboot /opt/app/start\n');
    expect((await sh(fleet, 'test -e /etc/cron.d/provision-cleanup; echo $?')).stdout, 'the emptied cron_file is removed').toBe('1\n');
  });

  it.skipIf(!present)('git: clone from a repository served in the host itself (file://), HEAD read by git rev-parse; a new commit is fetched, a tag checked out, local modifications refused without force', async () => {
    const setup = await sh(fleet, 'apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq git >/dev/null 2>&1; git --version');
    expect(setup.stdout).toMatch(/^git version/);
    const commit = (msg: string) =>
      sh(fleet, `cd /srv/work && echo ${msg} > file.txt && git add file.txt && git -c user.name=t -c user.email=t@t commit -qm ${msg} && git push -q origin HEAD:main --tags 2>&1 && git rev-parse HEAD`);
    await sh(fleet, 'git init -q --bare -b main /srv/repo.git && git init -q -b main /srv/work && git -C /srv/work remote add origin file:///srv/repo.git');
    const first = (await commit('one')).stdout.trim();
    await sh(fleet, 'git -C /srv/work tag v1 && git -C /srv/work push -q origin v1');
    const play = (version: string, extra = '') => `
- hosts: all
  tasks:
    - name: app
      git: { repo: "file:///srv/repo.git", dest: /srv/app, version: ${version}${extra} }
      register: app_updated
`;
    const head = async () => (await sh(fleet, 'git -C /srv/app rev-parse HEAD')).stdout.trim();
    const c1 = await converge(fleet, play('main'));
    expect(keysOf(c1.apply, 'changed')).toEqual([`${host}: app`]);
    expect(await head()).toBe(first);
    expect((await sh(fleet, 'cat /srv/app/file.txt; git -C /srv/app rev-parse --abbrev-ref HEAD')).stdout).toBe('one\nmain\n');

    const second = (await commit('two')).stdout.trim();
    expect(second).not.toBe(first);
    const c2 = await converge(fleet, play('main'));
    expect(keysOf(c2.apply, 'changed')).toEqual([`${host}: app`]);
    expect(await head()).toBe(second);

    await converge(fleet, play('v1'));
    expect(await head()).toBe(first);
    expect((await sh(fleet, 'cat /srv/app/file.txt')).stdout).toBe('one\n');

    // modified tracked files: refused without force, discarded with it
    await sh(fleet, 'echo mine > /srv/app/file.txt');
    const refused = await runPlaybook(fleet, play('main'));
    expect(failures(refused)).toEqual([`${host}: app: Local modifications exist in the destination: /srv/app (force: false)`]);
    expect((await sh(fleet, 'cat /srv/app/file.txt')).stdout).toBe('mine\n');
    await converge(fleet, play('main', ', force: true'));
    expect(await head()).toBe(second);
    expect((await sh(fleet, 'cat /srv/app/file.txt')).stdout).toBe('two\n');
  });

  it.skipIf(!present)('unarchive: a tar.gz on the host unpacked into dest (ls, cat, stat from outside), ok while dest holds it, again after an edit; creates; zip refused without unzip, naming the package', async () => {
    await sh(fleet, 'mkdir -p /srv/pkg/solr-9/bin /opt/dl && echo hello > /srv/pkg/solr-9/README.txt && echo run > /srv/pkg/solr-9/bin/solr && tar -czf /opt/dl/solr-9.tgz -C /srv/pkg solr-9 && touch /opt/dl/other.zip');
    const play = (extra = '') => `
- hosts: all
  tasks:
    - name: expand
      unarchive: { src: /opt/dl/solr-9.tgz, dest: /opt, remote_src: true, owner: nobody, mode: "0750"${extra} }
`;
    const c1 = await converge(fleet, play());
    expect(keysOf(c1.apply, 'changed')).toEqual([`${host}: expand`]);
    expect((await sh(fleet, 'ls -R /opt/solr-9; cat /opt/solr-9/README.txt; stat -c %U:%a /opt/solr-9/bin/solr /opt/solr-9')).stdout).toBe(
      '/opt/solr-9:\nREADME.txt\nbin\n\n/opt/solr-9/bin:\nsolr\nhello\nnobody:750\nnobody:750\n',
    );
    await sh(fleet, 'echo edited > /opt/solr-9/README.txt');
    const c2 = await converge(fleet, play());
    expect(keysOf(c2.apply, 'changed')).toEqual([`${host}: expand`]);
    expect((await sh(fleet, 'cat /opt/solr-9/README.txt')).stdout).toBe('hello\n');

    // creates: not compared, skipped as Ansible reports it (the edit stays)
    await sh(fleet, 'echo edited > /opt/solr-9/README.txt');
    const created = await runPlaybook(fleet, play(', creates: /opt/solr-9/README.txt'));
    expect(failures(created)).toEqual([]);
    expect(created.results[0]).toMatchObject({ status: 'skipped', message: 'skipped, since /opt/solr-9/README.txt exists' });
    expect((await sh(fleet, 'cat /opt/solr-9/README.txt')).stdout).toBe('edited\n');

    // an archive on the control machine, found in files/ and sent
    mkdirSync(join(fleet.dir, 'pkg', 'site'), { recursive: true });
    writeFileSync(join(fleet.dir, 'pkg', 'site', 'index.html'), '<h1>local</h1>\n');
    execFileSync('tar', ['-czf', join(fleet.dir, 'files', 'site.tar.gz'), '-C', join(fleet.dir, 'pkg'), 'site']);
    await sh(fleet, 'mkdir -p /srv/www');
    const local = await converge(fleet, '- hosts: all\n  tasks:\n    - name: site\n      unarchive: { src: site.tar.gz, dest: /srv/www }\n');
    expect(keysOf(local.apply, 'changed')).toEqual([`${host}: site`]);
    expect((await sh(fleet, 'cat /srv/www/site/index.html; ls -A /tmp')).stdout).toBe('<h1>local</h1>\n');

    const zip = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: zip\n      unarchive: { src: /opt/dl/other.zip, dest: /opt, copy: false }\n');
    expect(failures(zip)).toEqual([`${host}: zip: unzip is not installed on the host, needed for /opt/dl/other.zip: install the unzip package`]);
  });
});
