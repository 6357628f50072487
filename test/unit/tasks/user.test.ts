import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { userTask } from '../../../src/tasks/user.js';
import { mergeKeys, parseKeyLine } from '../../../src/tasks/lib/authorized-keys.js';
import { parseUserFact, type UserInfo } from '../../../src/facts/users.js';
import type { AccessInfo } from '../../../src/contract/task.js';

import { ctxOf, hostOf } from './_helpers.js';
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/facts/user-${name}.txt`, import.meta.url), 'utf8');
const deb = hostOf('debian');
const rhel = hostOf('rhel');
const HASH = '$6$saltsalt$Qx1cN3sCq7c0/3Yh8W7W2cHc4G3m2bT0Z2pQmQ0m1fL0n4rU8C2J0x5hM5p1O9c3bC4vZ6nJ3qW7t8s9r0e1a.';
const NEW_HASH = '$6$newsalt$abcdefghijklmnopqrstuv';
const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@laptop';
const RSA = 'from="10.0.0.0/8",no-agent-forwarding ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ci $(touch /tmp/x)';
const NEWKEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWNEWNEWNEW new $(touch /tmp/x)';

const deploy = () => parseUserFact(fixture('deploy-debian12'), { name: 'deploy' });
/** Plan with the user fact and a group fact for every group the task asks about: all exist but `missingGroups`. */
function plan(raw: unknown, user: UserInfo, host = deb, missingGroups: readonly string[] = ['docker']) {
  const args = userTask.schema.parse(raw);
  const groups = Object.keys(userTask.facts(args, ctxOf(host)))
    .filter((k) => k.startsWith('group:'))
    .map((k) => [k, missingGroups.includes(k.slice(6)) ? { exists: false } : { exists: true, name: k.slice(6), gid: 100, members: [] }]);
  return userTask.plan(args, { user, ...Object.fromEntries(groups) }, ctxOf(host));
}
const access = (user: string, auth: AccessInfo['auth'] = 'publickey'): AccessInfo => ({ user, clientIp: '10.0.0.1', serverPort: 22, auth, keys: [] });

describe('user task', () => {
  it("groups as text is Ansible's comma list: names stripped, empty ones dropped ('' is no supplementary group)", () => {
    const groupsOf = (groups: unknown) => userTask.schema.parse({ name: 'deploy', groups }).groups;
    expect(groupsOf('wheel')).toEqual(['wheel']);
    expect(groupsOf('wheel, adm,,docker ')).toEqual(['wheel', 'adm', 'docker']);
    expect(groupsOf('')).toEqual([]);
    expect(userTask.schema.safeParse({ name: 'deploy', groups: 'wheel,$(id)' }).error?.issues[0]?.message).toBe('not a group name');
  });

  it('ok when everything matches, and says what', () => {
    expect(plan({ name: 'deploy', shell: '/bin/bash', groups: ['adm'], admin: true, password: HASH, password_lock: true, authorized_keys: [RSA] }, deploy())).toEqual({
      kind: 'ok',
      reason: 'user deploy exists, shell /bin/bash, in adm, sudo, password hash as requested, password locked, 1 authorized key present',
    });
  });

  it('create: useradd with groups (debian admin = sudo), keys written through stdin', () => {
    const p = plan({ name: 'ci', uid: 1500, shell: '/bin/bash', admin: true, groups: ['adm'], authorized_keys: [NEWKEY] }, { exists: false });
    expect(p.kind).toBe('change');
    if (p.kind !== 'change') return;
    expect(p.summary).toBe('create user ci; write /home/ci/.ssh/authorized_keys');
    expect(p.steps[0]).toEqual({ command: 'useradd -u 1500 -s /bin/bash -m -G adm,sudo ci' });
    expect(p.steps[1]?.stdin).toBe(`${NEWKEY}\n`);
    expect(p.steps[1]?.command.split('\n').slice(0, 2)).toEqual(['u=ci', 'h=$(getent passwd "$u" | cut -d: -f6)']);
    // the hostile comment only travels on stdin, never in the command
    expect(p.steps[1]?.command).not.toContain('touch');
    expect(p.risk).toBeUndefined();
  });

  it('rhel admin group is wheel', () => {
    const p = plan({ name: 'ci', admin: true }, { exists: false }, rhel);
    expect(p.kind === 'change' && p.steps[0]?.command).toBe('useradd -m -G wheel ci');
    const cur = parseUserFact(fixture('deploy-rocky9'), { name: 'deploy' });
    expect(plan({ name: 'deploy', admin: true }, cur, rhel)).toEqual({ kind: 'ok', reason: 'user deploy exists, in wheel' });
    expect(plan({ name: 'deploy', admin: false }, cur, rhel)).toMatchObject({ summary: 'remove deploy from wheel', steps: [{ command: 'gpasswd -d deploy wheel' }] });
  });

  it('usermod: shell, uid, appended groups in one command; exact groups with append false', () => {
    expect(plan({ name: 'deploy', uid: 2000, shell: '/bin/sh', groups: ['users'] }, deploy())).toMatchObject({
      summary: 'deploy: uid 1002 → 2000, shell /bin/bash → /bin/sh, add to users',
      steps: [{ command: 'usermod -u 2000 -s /bin/sh -a -G users deploy' }],
    });
    expect(plan({ name: 'deploy', groups: ['adm'], append: false }, deploy())).toMatchObject({
      summary: 'deploy: groups adm,sudo → adm',
      steps: [{ command: 'usermod -G adm deploy' }],
    });
  });

  it('missing group fails before changing anything; each group is its own group fact, so a group an earlier task creates counts in check mode', () => {
    expect(() => plan({ name: 'deploy', groups: ['docker'] }, deploy())).toThrow('group docker does not exist on web1: create it first');
    expect(Object.keys(userTask.facts(userTask.schema.parse({ name: 'deploy', groups: ['docker', 'adm'], admin: true }), ctxOf(deb)))).toEqual(['user', 'group:adm', 'group:docker', 'group:sudo']);
    expect(plan({ name: 'deploy', groups: ['docker'] }, deploy(), deb, [])).toMatchObject({ summary: 'deploy: add to docker' });
  });

  it('password: chpasswd -e with the hash on stdin only, relocks a locked account; never in summary or diff', () => {
    const p = plan({ name: 'deploy', password: NEW_HASH }, deploy());
    expect(p.kind).toBe('change');
    if (p.kind !== 'change') return;
    expect(p.steps).toEqual([{ command: 'chpasswd -e', stdin: `deploy:${NEW_HASH}\n` }, { command: 'usermod -L deploy' }]);
    expect(p.summary).toBe('deploy: (password hash changed)');
    const shown = JSON.stringify([p.summary, p.diffs, p.predictions]);
    expect(shown).not.toContain('newsalt');
    expect(p.diffs?.[0]?.after).toContain('password: (password hash changed) (locked)');
  });

  it('lock/unlock; unlocking an account without a hash is refused', () => {
    expect(plan({ name: 'deploy', password_lock: false }, deploy())).toMatchObject({ steps: [{ command: 'usermod -U deploy' }] });
    const svc = parseUserFact(fixture('svc-debian12'), { name: 'svc' });
    expect(() => plan({ name: 'svc', password_lock: false }, svc)).toThrow('cannot unlock svc: the account has no password hash to unlock');
    const root = parseUserFact(fixture('root-debian12'), { name: 'root' });
    expect(plan({ name: 'root', password_lock: true }, root)).toMatchObject({ steps: [{ command: 'usermod -L root' }], risk: 'access' });
  });

  it('unreadable shadow: password comparison refused with the reason', () => {
    const u = parseUserFact(fixture('deploy-noroot-debian12'), { name: 'deploy' });
    expect(() => plan({ name: 'deploy', password: HASH }, u)).toThrow('cannot read the password state of deploy: /etc/shadow is unreadable (run the task with become)');
  });

  it('authorized_keys: additive keeps others, option change replaces by type+blob, exclusive, hostile comment', () => {
    const cur = deploy();
    const p = plan({ name: 'deploy', authorized_keys: [NEWKEY] }, cur);
    expect(p.kind === 'change' && p.steps[0]?.stdin).toBe(`${ED}\n${RSA}\n${NEWKEY}\n`);
    expect(p.kind === 'change' && p.diffs?.[0]?.label).toBe('/home/deploy/.ssh/authorized_keys');
    const rsaNoOpts = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ci';
    expect(mergeKeys(cur.exists ? (cur.authorizedKeys ?? '') : '', [rsaNoOpts], false)).toBe(`${ED}\n${rsaNoOpts}\n`);
    expect(mergeKeys(cur.exists ? (cur.authorizedKeys ?? '') : '', [ED], true)).toBe(`${ED}\n`);
    expect(parseKeyLine(RSA)).toEqual({ options: 'from="10.0.0.0/8",no-agent-forwarding', type: 'ssh-rsa', blob: 'AAAAB3NzaC1yc2EAAAADAQABAAABAQC7', comment: 'ci $(touch /tmp/x)', id: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7' });
    expect(parseKeyLine('command="echo a b",no-pty ssh-ed25519 AAAA x')?.options).toBe('command="echo a b",no-pty');
    expect(() => plan({ name: 'deploy', authorized_keys: ['not a key'] }, cur)).toThrow('not an SSH public key line: "not a key"');
  });

  it('absent: userdel [-r]; ok when missing', () => {
    expect(plan({ name: 'deploy', state: 'absent', remove_home: true }, deploy())).toMatchObject({ summary: 'remove user deploy and its home directory', steps: [{ command: 'userdel -r deploy' }] });
    expect(plan({ name: 'ghost', state: 'absent' }, { exists: false })).toEqual({ kind: 'ok', reason: 'user ghost does not exist' });
  });

  it('risk access only for the connecting user; lockout reasons', () => {
    const asDeploy = hostOf('debian', { user: 'deploy' });
    expect(plan({ name: 'deploy', authorized_keys: [NEWKEY] }, deploy(), asDeploy)).toMatchObject({ risk: 'access' });
    expect(plan({ name: 'deploy', authorized_keys: [NEWKEY] }, deploy())).not.toHaveProperty('risk');
    const lock = (raw: unknown, auth: AccessInfo['auth'] = 'publickey', who = 'deploy') => userTask.lockout?.(userTask.schema.parse(raw), { user: deploy() }, access(who, auth), ctxOf(deb));
    expect(lock({ name: 'deploy', state: 'absent' })).toBe('would delete user deploy, the user we connect as');
    expect(lock({ name: 'deploy', authorized_keys: [], exclusive: true })).toBe('would remove every authorized key of deploy, the user we connect as with public key authentication');
    expect(lock({ name: 'deploy', shell: '/usr/sbin/nologin' })).toBe('would set the login shell of deploy, the user we connect as, to /usr/sbin/nologin: no more SSH sessions');
    expect(lock({ name: 'deploy', authorized_keys: [NEWKEY], exclusive: true })).toBeUndefined();
    expect(lock({ name: 'deploy', state: 'absent' }, 'publickey', 'root')).toBeUndefined();
    // deploy is already locked: locking again cuts nothing
    expect(lock({ name: 'deploy', password_lock: true }, 'password')).toBeUndefined();
  });

  it('exclusive keys that leave out the key this session logs in with are refused, naming it', () => {
    const OURS = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const lockWith = (raw: unknown, keys: string[]) =>
      userTask.lockout?.(userTask.schema.parse(raw), { user: deploy() }, { ...access('deploy'), keys }, ctxOf(deb));
    expect(lockWith({ name: 'deploy', authorized_keys: [NEWKEY], exclusive: true }, [OURS])).toMatch(
      /^would remove the key this session logs in with \(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\) from the authorized keys of deploy, the user we connect as$/,
    );
    // kept, added to, or not exclusive: fine
    expect(lockWith({ name: 'deploy', authorized_keys: [NEWKEY, `${OURS} me@laptop`], exclusive: true }, [OURS])).toBeUndefined();
    expect(lockWith({ name: 'deploy', authorized_keys: [NEWKEY] }, [OURS])).toBeUndefined();
    // the agent offered several keys: any of them kept is enough
    expect(lockWith({ name: 'deploy', authorized_keys: [NEWKEY], exclusive: true }, ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWNEWNEWNEW', OURS])).toBeUndefined();
    // our key is not in this file (a certificate, another AuthorizedKeysFile): not ours to judge
    expect(lockWith({ name: 'deploy', authorized_keys: [NEWKEY], exclusive: true }, ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOTHER'])).toBeUndefined();
  });

  it('schema: name rules, hash format, absent takes no attributes', () => {
    expect(userTask.schema.safeParse({ name: 'Deploy' }).success).toBe(false);
    expect(userTask.schema.safeParse({ name: 'a'.repeat(33) }).success).toBe(false);
    expect(userTask.schema.safeParse({ name: 'machine$' }).success).toBe(true);
    expect(userTask.schema.safeParse({ name: 'x', password: 'plaintext' }).success).toBe(false);
    expect(userTask.schema.safeParse({ name: 'x', state: 'absent', shell: '/bin/sh' }).success).toBe(false);
  });
});
