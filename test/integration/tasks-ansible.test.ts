/**
 * The task types Ansible playbooks use most, over real SSH on the fleet: each
 * converges (check predicts apply, a second apply changes nothing, no drift)
 * and its effect is read from outside provision, through `docker exec` (cat,
 * stat, getent, sha256sum, systemctl, dpkg-query), never through our planner.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetImages, generateKeyPair, type Fleet, startFleet } from './fleet.js';
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

  it.skipIf(!present)('group: gid, system group, a user in it that check mode already sees; gid changed; absent', async () => {
    const play = (gid: number) => `
- hosts: all
  tasks:
    - name: app group
      group: { name: appgrp, gid: ${gid} }
    - name: system group
      group: { name: sysgrp, system: true }
    - name: app user
      user: { name: appusr, groups: [appgrp], create_home: false }
`;
    const c1 = await converge(fleet, play(2345));
    expect(keysOf(c1.apply, 'changed')).toEqual([...perHost(fleet, 'app group'), ...perHost(fleet, 'system group'), ...perHost(fleet, 'app user')].sort());
    expect(await onAll(fleet, 'getent group appgrp')).toEqual(fleet.hosts.map(() => 'appgrp:x:2345:appusr\n'));
    for (const gid of await onAll(fleet, 'getent group sysgrp | cut -d: -f3')) expect(Number(gid)).toBeLessThan(1000);

    const c2 = await converge(fleet, play(2346));
    expect(keysOf(c2.apply, 'changed')).toEqual(perHost(fleet, 'app group'));
    expect(await onAll(fleet, 'getent group appgrp')).toEqual(fleet.hosts.map(() => 'appgrp:x:2346:appusr\n'));

    const gone = `
- hosts: all
  tasks:
    - { name: no user, user: { name: appusr, state: absent } }
    - { name: no app group, group: { name: appgrp, state: absent } }
    - { name: no system group, group: { name: sysgrp, state: absent } }
`;
    await converge(fleet, gone);
    expect(await onAll(fleet, 'getent group appgrp sysgrp; echo "exit $?"')).toEqual(fleet.hosts.map(() => 'exit 2\n'));
  });

  it.skipIf(!present)('authorized_key: two keys (one with options), login with it; exclusive; our own key is never removed', async () => {
    const extra = await generateKeyPair(fleet.dir, 'id_authkey_extra');
    const keyPlay = (body: string) => `
- hosts: all
  tasks:
    - name: key user
      user: { name: keyusr, shell: /bin/bash }
    - name: keys
      authorized_key:
${body}
`;
    const c1 = await converge(fleet, keyPlay(`        user: keyusr
        key: |
          ${fleet.publicKey}
          ${extra.publicKey}
        key_options: 'no-port-forwarding'`));
    expect(keysOf(c1.apply, 'changed')).toEqual([...perHost(fleet, 'key user'), ...perHost(fleet, 'keys')].sort());
    expect(await onAll(fleet, 'cat /home/keyusr/.ssh/authorized_keys')).toEqual(fleet.hosts.map(() => `no-port-forwarding ${fleet.publicKey}\nno-port-forwarding ${extra.publicKey}\n`));
    expect(await onAll(fleet, "stat -c '%a %U:%G' /home/keyusr/.ssh /home/keyusr/.ssh/authorized_keys")).toEqual(fleet.hosts.map(() => '700 keyusr:keyusr\n600 keyusr:keyusr\n'));
    // sshd accepts the key for a new login as keyusr
    const login = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: who\n      command: id -un\n      changed_when: false\n', { user: 'keyusr' });
    expect(failures(login)).toEqual([]);
    expect(login.results.map((r) => r.stdout)).toEqual(fleet.hosts.map(() => 'keyusr'));

    const c2 = await converge(fleet, keyPlay(`        user: keyusr
        key: ${JSON.stringify(fleet.publicKey)}
        exclusive: true`));
    expect(keysOf(c2.apply, 'changed')).toEqual(perHost(fleet, 'keys'));
    expect(await onAll(fleet, 'cat /home/keyusr/.ssh/authorized_keys')).toEqual(fleet.hosts.map(() => `${fleet.publicKey}\n`));

    // as root, leaving out the key this session logs in with is refused before anything changes
    const before = await onAll(fleet, 'cat /root/.ssh/authorized_keys');
    const refused = await runPlaybook(fleet, `- hosts: all\n  tasks:\n    - name: root keys\n      authorized_key: { user: root, key: ${JSON.stringify(extra.publicKey)}, exclusive: true }\n`);
    expect(keysOf(refused, 'failed')).toEqual(perHost(fleet, 'root keys'));
    for (const r of refused.results) expect(r.message).toMatch(/would remove the key this session logs in with \(ssh-ed25519 SHA256:.*\) from the authorized keys of root/);
    expect(await onAll(fleet, 'cat /root/.ssh/authorized_keys')).toEqual(before);
  });

  it.skipIf(!present)('stat registers Ansible\'s result, and in check mode sees the file an earlier task would write', async () => {
    const play = `
- hosts: all
  tasks:
    - name: marker
      copy: { dest: /etc/marker, content: "hello\\n", mode: "0640" }
    - name: look
      stat: { path: /etc/marker, checksum_algorithm: sha256 }
      register: st
    - name: record
      copy: { dest: /etc/marker.seen, content: "{{ st.stat.exists }} {{ st.stat.mode }} {{ st.stat.checksum }} {{ st.stat.pw_name }} {{ st.stat.isreg }} {{ st.stat.size }}\\n" }
    - name: missing
      stat: { path: /nonexistent }
      register: nothing
    - name: record missing
      copy: { dest: /etc/missing.seen, content: "exists={{ nothing.stat.exists }}\\n" }
`;
    const c = await converge(fleet, play);
    expect(keysOf(c.check, 'changed')).toEqual([...perHost(fleet, 'marker'), ...perHost(fleet, 'record'), ...perHost(fleet, 'record missing')].sort());
    const sha = createHash('sha256').update('hello\n').digest('hex');
    expect(await onAll(fleet, 'sha256sum < /etc/marker | cut -d" " -f1')).toEqual(fleet.hosts.map(() => `${sha}\n`));
    expect(await onAll(fleet, 'cat /etc/marker.seen /etc/missing.seen')).toEqual(fleet.hosts.map(() => `True 0640 ${sha} root True 6\nexists=False\n`));
  });

  it.skipIf(!present)('wait_for and ping: sshd\'s banner, a file another process creates, Ansible\'s timeout failure; check mode does not wait', async () => {
    const play = `
- hosts: all
  tasks:
    - name: ping
      ping:
      register: p
    - name: sshd answers
      wait_for: { port: 22, timeout: 10, search_regex: 'OpenSSH_(\\d+)\\.(\\d+)' }
      register: w
    - name: record
      copy: { dest: /etc/wait.seen, content: "{{ p.ping }} {{ w.match_groups | join('.') }} {{ w.state }}\\n" }
`;
    await converge(fleet, play);
    const versions = await onAll(fleet, "ssh -V 2>&1 | sed -E 's/^OpenSSH_([0-9]+)\\.([0-9]+).*/\\1.\\2/'");
    expect(await onAll(fleet, 'cat /etc/wait.seen')).toEqual(versions.map((v) => `pong ${v.trim()} started\n`));

    await Promise.all(fleet.hosts.map((_, i) => sh(fleet, i, 'rm -f /tmp/ready')));
    const waitFile = '- hosts: all\n  tasks:\n    - name: ready\n      wait_for: { path: /tmp/ready, timeout: 30 }\n      register: r\n';
    const check = await runPlaybook(fleet, waitFile, { check: true });
    expect(keysOf(check, 'skipped')).toEqual(perHost(fleet, 'ready'));
    expect(check.results[0]?.message).toBe('check mode: not now (Timeout when waiting for file /tmp/ready); an apply waits for it');
    const t0 = Date.now();
    const [apply] = await Promise.all([runPlaybook(fleet, waitFile), ...fleet.hosts.map((_, i) => sh(fleet, i, 'sleep 3; touch /tmp/ready'))]);
    expect(failures(apply)).toEqual([]);
    expect(keysOf(apply, 'ok')).toEqual(perHost(fleet, 'ready'));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2500);

    const late = await runPlaybook(fleet, '- hosts: all\n  tasks:\n    - name: never\n      wait_for: { path: /nonexistent, timeout: 2 }\n');
    expect(keysOf(late, 'failed')).toEqual(perHost(fleet, 'never'));
    expect(late.results[0]?.message).toBe('Timeout when waiting for file /nonexistent');
  });
  it.skipIf(!present)('get_url: from an HTTP server this test runs, with checksum, mode; a wrong checksum replaces nothing; force follows the server', async () => {
    // the fleet's default gateway is this machine: serve there, never from the internet
    const hex = (await sh(fleet, 0, "awk '$2 == \"00000000\" { print $3 }' /proc/net/route")).stdout.trim();
    const gateway = (hex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.');
    let body = 'release 1.0\n';
    const server: Server = createServer((req, res) => {
      if (req.url === '/app.bin') res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, gateway, resolve));
    const url = `http://${gateway}:${(server.address() as AddressInfo).port}/app.bin`;
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    try {
      const play = (args: string) => `
- hosts: all
  tasks:
    - name: curl
      package: { name: curl }
    - name: fetch
      get_url: { url: "${url}", dest: /opt/app.bin, ${args} }
`;
      const c1 = await converge(fleet, play(`checksum: "sha256:${sha(body)}", mode: "0640", group: adm`));
      expect(keysOf(c1.apply, 'changed')).toEqual(expect.arrayContaining(perHost(fleet, 'fetch')));
      expect(await onAll(fleet, 'sha256sum < /opt/app.bin | cut -d" " -f1; stat -c %U:%G:%a /opt/app.bin')).toEqual(fleet.hosts.map(() => `${sha(body)}\nroot:adm:640\n`));

      // the server now serves other bytes than the checksum says: the download fails, the file stays
      body = 'tampered\n';
      const bad = await runPlaybook(fleet, play(`checksum: "sha256:${'0'.repeat(64)}"`));
      expect(keysOf(bad, 'failed')).toEqual(perHost(fleet, 'fetch'));
      expect(failures(bad)[0]).toMatch(/The checksum did not match 0{64}; it was [0-9a-f]{64}/);
      expect(await onAll(fleet, 'cat /opt/app.bin')).toEqual(fleet.hosts.map(() => 'release 1.0\n'));

      // without a checksum an existing file is kept; with force it follows what the server serves
      const kept = await runPlaybook(fleet, play('mode: "0640"'));
      expect(keysOf(kept, 'changed')).toEqual([]);
      const c2 = await converge(fleet, play('force: true'));
      expect(keysOf(c2.apply, 'changed')).toEqual(perHost(fleet, 'fetch'));
      expect(await onAll(fleet, 'cat /opt/app.bin')).toEqual(fleet.hosts.map(() => 'tampered\n'));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
