/**
 * Reads ahead of an apply (issue 16, build 1) over real SSH on debian12: an
 * apply reads the next task items' facts after its last step, in the same
 * command. Logged in as admin with sudo, tasks on two become users: the
 * commands and round trips are counted on the wire (RunSummary.stats), and
 * what the tasks made is read from outside provision with `docker exec`
 * (stat, cat, getent), never through our planner.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHost } from '../../src/core/connect.js';
import type { HostSpec } from '../../src/core/inventory.js';
import { fleetImages, type Fleet, startFleet } from './fleet.js';
import { failures, keysOf, runPlaybook } from './harness.js';

/** Every command sent to the host, in order. */
const sent: string[] = [];
const recording = async (spec: HostSpec) => {
  const c = await connectHost(spec);
  const exec = c.exec.bind(c);
  return Object.assign(c, { exec: (cmd: string, o?: Parameters<typeof exec>[1]) => (sent.push(cmd), exec(cmd, o)) });
};
/** A command that applies a step and reads facts after it (host.ts execThenRead). */
const readsAfter = (cmd: string) => /__PF_[0-9a-f]+_after/.test(cmd);

const images = (await fleetImages()).filter((i) => i.name.endsWith('debian12'));

/** Run one shell command as root on the host through docker exec (outside provision). */
async function sh(fleet: Fleet, command: string): Promise<string> {
  const r = await fleet.hosts[0]!.container.exec(['sh', '-c', command]);
  expect(r.exitCode, `${command}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

// six changes; the last task runs as the user the third one creates, and reads its facts as that user
const PLAY = `
- hosts: all
  become: true
  tasks:
    - { name: dir, file: { path: /opt/ahead, state: directory, mode: "0755" } }
    - { name: conf, copy: { dest: /opt/ahead/app.conf, content: "workers = 4\\n", mode: "0640" } }
    - { name: user, user: { name: aheaduser, shell: /bin/bash } }
    - { name: limit, lineinfile: { path: /etc/ahead.conf, line: "max = 100", create: true } }
    - { name: link, file: { path: /opt/ahead/current, state: link, src: /opt/ahead } }
    - { name: note, copy: { dest: /home/aheaduser/note, content: "hi\\n" }, become_user: aheaduser }
`;

describe.each(images)('reads ahead of an apply on $name', ({ name, present }) => {
  let fleet: Fleet;
  beforeAll(async () => {
    if (!present) return;
    fleet = await startFleet({ count: 1, image: name });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it.skipIf(!present)('six changes take one command each after the first batch, and do what they say, seen from outside', async () => {
    const apply = await runPlaybook(fleet, PLAY, { user: 'admin', connect: recording });
    expect(failures(apply)).toEqual([]);
    expect(keysOf(apply, 'changed')).toHaveLength(6);
    const st = Object.values(apply.stats)[0]!;
    // one batch (host facts and every task's facts); the note's read as aheaduser fails until the user exists and is tried
    // again once the host facts are known and by the lockout pre-flight (as before); then one command per change, every
    // change but the last reading the next tasks' facts after it: no task reads its own facts
    expect(st.commands).toBe(1 + 2 + 6);
    const applies = sent.slice(3);
    expect(applies.map(readsAfter)).toEqual([true, true, true, true, true, false]);
    const after = st.roundTrips - (st.authRoundTrips ?? 0);
    console.log(`apply of 6 changes: ${st.commands} commands, ${after} round trips after authentication`);
    // channel open, the close, one per command; under a heavy load some replies take turns of their own
    expect(after).toBeLessThanOrEqual(2 + 2 * st.commands);

    expect(await sh(fleet, 'stat -c "%F %a %U" /opt/ahead /opt/ahead/app.conf')).toBe('directory 755 root\nregular file 640 root\n');
    expect(await sh(fleet, 'cat /opt/ahead/app.conf /etc/ahead.conf')).toBe('workers = 4\nmax = 100\n');
    expect(await sh(fleet, 'getent passwd aheaduser | cut -d: -f6,7')).toBe('/home/aheaduser:/bin/bash\n');
    expect(await sh(fleet, 'readlink /opt/ahead/current')).toBe('/opt/ahead\n');
    expect(await sh(fleet, 'stat -c "%U" /home/aheaduser/note && cat /home/aheaduser/note')).toBe('aheaduser\nhi\n');

    const again = await runPlaybook(fleet, PLAY, { user: 'admin' });
    expect(failures(again)).toEqual([]);
    expect(keysOf(again, 'changed')).toEqual([]);
    expect(Object.values(again.stats)[0]!.commands).toBe(1);

    // drift behind provision's back: each drifted task's facts, read after the apply before it, still see the host as it is
    await sh(fleet, 'rm /home/aheaduser/note && echo "max = 1" > /etc/ahead.conf && chmod 0600 /opt/ahead/app.conf');
    const audit = await runPlaybook(fleet, PLAY, { user: 'admin', check: true });
    expect(keysOf(audit, 'changed').map((k) => k.split(': ')[1])).toEqual(['conf', 'limit', 'note']);
    sent.length = 0;
    const repair = await runPlaybook(fleet, PLAY, { user: 'admin', connect: recording });
    expect(failures(repair)).toEqual([]);
    expect(keysOf(repair, 'changed')).toEqual(keysOf(audit, 'changed'));
    expect(Object.values(repair.stats)[0]!.commands).toBe(1 + 3);
    expect(sent.slice(1).map(readsAfter)).toEqual([true, true, false]);
    expect(await sh(fleet, 'stat -c "%a" /opt/ahead/app.conf && cat /etc/ahead.conf /home/aheaduser/note')).toBe('640\nmax = 1\nmax = 100\nhi\n');
  });
});
