/**
 * The operator's terminal against a real host over SSH: the built CLI runs a
 * check-mode audit of a fleet container inside tmux; when the live area is
 * gone the screen names every drifted task with its host and reason, then the
 * recap; and the host itself was not changed (read back with plain commands).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { builtCli } from '../support/built-cli.js';
import { Terminal, hasTmux } from '../support/tmux.js';
import { fleetImages, startFleet, type Fleet } from './fleet.js';

const image = (await fleetImages()).find((i) => i.present && !i.name.endsWith('-systemd'))?.name;
const tmux = hasTmux();
if (!tmux) console.warn('terminal integration test skipped: tmux is missing (apt-get install -y tmux; .ci/run installs it)');

describe.skipIf(!image || !tmux)(`the built CLI on a real terminal against ${image ?? 'no image'} over SSH`, () => {
  let fleet: Fleet;
  let term: Terminal | undefined;
  beforeAll(async () => {
    fleet = await startFleet({ count: 1, image: image! });
  });
  afterEach(async () => {
    await term?.stop();
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('check-mode audit: every drifted task stays on screen after the live area, the host is untouched', async () => {
    const cli = builtCli();
    await fleet.writeInventory(join(fleet.dir, 'inventory.yaml'));
    writeFileSync(
      join(fleet.dir, 'site.yaml'),
      `- name: day one
  hosts: all
  tasks:
    - name: deploy user
      user: { name: deploy, shell: /bin/bash }
    - name: tree installed
      package: { name: tree }
    - name: motd
      copy: { dest: /etc/motd, content: "Authorized use only.\\n" }
    - name: app directory
      file: { path: /srv/app, state: directory, mode: "0750" }
    - name: a probe that keeps the live area on screen
      command: sleep 2
      check_mode: false
      changed_when: false
    - name: root can log in
      file: { path: /root, state: directory }
`,
    );
    term = await Terminal.start({ columns: 100, rows: 40, cwd: fleet.dir });
    await term.type(`clear; node ${cli} --check -i inventory.yaml site.yaml; echo "EXIT=$?"`);
    await term.waitFor(/\[[#.]+\] \d+\/6 tasks .* 1 running/, 60_000);
    const screen = await term.waitFor(/^EXIT=\d+$/m, 120_000);
    expect(screen, screen).toMatch(/^EXIT=3$/m);
    const host = fleet.hosts[0]!.name;
    for (const task of ['deploy user', 'tree installed', 'motd', 'app directory']) {
      expect(screen, screen).toMatch(new RegExp(`^ {2}drift {2}${host} {2}${task} — \\S`, 'm'));
    }
    expect(screen).not.toMatch(/drift .*root can log in/);
    expect(screen).toMatch(new RegExp(`^ {2}${host} +2 +4 +0 +0 +no$`, 'm'));
    expect(screen).toMatch(/1 host drifted · 1 host in [\d.]+ s · exit 3/);
    // check mode changed nothing, as the host itself says
    const c = fleet.hosts[0]!.container;
    expect((await c.exec(['id', 'deploy'])).exitCode).not.toBe(0);
    expect((await c.exec(['test', '-e', '/srv/app'])).exitCode).not.toBe(0);
    expect((await c.exec(['sh', '-c', 'command -v tree'])).exitCode).not.toBe(0);
  });
});
