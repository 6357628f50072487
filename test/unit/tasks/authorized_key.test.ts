/**
 * `authorized_key` planned from the user fact recorded on debian12 (deploy
 * with an ed25519 key and an rsa key with options) and hand-made file facts
 * for `path`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AccessInfo, Plan } from '../../../src/contract/task.js';
import { parseUserFact, type UserInfo } from '../../../src/facts/users.js';
import type { FileInfo } from '../../../src/facts/files.js';
import { authorizedKey } from '../../../src/tasks/authorized_key.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import { absent, ctx, ctxOf, fileWith, hostOf } from './_helpers.js';

const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@laptop';
const RSA = 'from="10.0.0.0/8",no-agent-forwarding ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 ci $(touch /tmp/x)';
const NEW = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWNEWNEWNEW new@host';
const deploy = (): UserInfo => parseUserFact(readFileSync(new URL('../../fixtures/facts/user-deploy-debian12.txt', import.meta.url), 'utf8'), { name: 'deploy' });
const parse = (raw: unknown) => authorizedKey.schema.parse(raw);
const invalid = (raw: unknown) => authorizedKey.schema.safeParse(raw).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
const plan = (raw: unknown, user: UserInfo = deploy(), file?: FileInfo, c = ctx): Plan =>
  authorizedKey.plan(parse(raw), { user, ...(file ? { file } : {}) } as never, c);
const access = (keys: string[], auth: AccessInfo['auth'] = 'publickey'): AccessInfo => ({ user: 'deploy', clientIp: '10.0.0.1', serverPort: 22, auth, keys });

describe('authorized_key planner', () => {
  it('ok when the key is there; registers Ansible\'s result keys', () => {
    expect(plan({ user: 'deploy', key: ED })).toEqual({
      kind: 'ok',
      reason: '1 key in /home/deploy/.ssh/authorized_keys',
      data: { user: 'deploy', key: ED, key_options: null, keyfile: '/home/deploy/.ssh/authorized_keys', exclusive: false, manage_dir: true, path: null, state: 'present' },
    });
  });

  it('appends a new key, written atomically 0600 by the user in a managed 0700 ~/.ssh, with a diff and a prediction', () => {
    const p = plan({ user: 'deploy', key: NEW });
    const after = `${ED}\n${RSA}\n${NEW}\n`;
    expect(p).toMatchObject({ kind: 'change', summary: 'write /home/deploy/.ssh/authorized_keys', diffs: [{ label: '/home/deploy/.ssh/authorized_keys', before: `${ED}\n${RSA}\n`, after }] });
    if (p.kind !== 'change') return;
    expect(p.steps).toEqual(
      writeFileSteps({ path: '/home/deploy/.ssh/authorized_keys', content: after, mode: '0600', owner: 'deploy', group: 'deploy', parent: { mode: '0700', owner: 'deploy', group: 'deploy' } }),
    );
    expect(p.predictions?.[0]?.request.id).toBe('user:deploy');
    expect(p.predictions?.[0]?.value).toMatchObject({ authorizedKeys: after, keysFile: { mode: '0600', owner: 'deploy' } });
    expect(p.risk).toBeUndefined();
  });

  it('several lines in key (blank and # lines skipped), key_options and comment replace each key\'s own', () => {
    const p = plan({ user: 'deploy', key: `# team\n${ED}\n\n${NEW}\n`, key_options: 'no-pty', comment: 'managed' });
    expect(p.kind === 'change' && p.diffs?.[0]?.after).toBe(
      `no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl managed\n${RSA}\nno-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINEWNEWNEWNEW managed\n`,
    );
  });

  it('exclusive leaves only the listed keys; absent removes a key whatever its options', () => {
    expect(plan({ user: 'deploy', key: ED, exclusive: true })).toMatchObject({ diffs: [{ after: `${ED}\n` }] });
    expect(plan({ user: 'deploy', key: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7', state: 'absent' })).toMatchObject({ diffs: [{ after: `${ED}\n` }] });
    expect(plan({ user: 'deploy', key: NEW, state: 'absent' })).toMatchObject({ kind: 'ok', reason: '1 key not in /home/deploy/.ssh/authorized_keys' });
  });

  it('path: read through the file fact, written there owned by the user; manage_dir: false leaves the directory alone', () => {
    const path = '/etc/ssh/keys/deploy';
    const p = plan({ user: 'deploy', key: NEW, path, manage_dir: false }, deploy(), fileWith(`${ED}\n`, { owner: 'root' }));
    expect(p).toMatchObject({ kind: 'change', summary: `write ${path}`, diffs: [{ before: `${ED}\n`, after: `${ED}\n${NEW}\n` }], data: { keyfile: path, path, manage_dir: false } });
    if (p.kind !== 'change') return;
    expect(p.steps).toEqual(writeFileSteps({ path, content: `${ED}\n${NEW}\n`, mode: '0600', owner: 'deploy', group: 'deploy', parent: {} }));
    expect(p.predictions?.[0]?.request.id).toBe(`file:${path}`);
    expect(authorizedKey.facts(parse({ user: 'deploy', key: NEW, path }), ctx)).toHaveProperty('file');
    expect(authorizedKey.facts(parse({ user: 'deploy', key: NEW }), ctx)).not.toHaveProperty('file');
    expect(plan({ user: 'deploy', key: NEW, path }, deploy(), absent)).toMatchObject({ diffs: [{ before: '', after: `${NEW}\n` }] });
  });

  it('fails clearly for a missing user or a path that is not a text file', () => {
    expect(() => plan({ user: 'ghost', key: ED }, { exists: false })).toThrow('user ghost does not exist on web1: create it first (user task)');
    expect(() => plan({ user: 'deploy', key: ED, path: '/x' }, deploy(), { exists: true, type: 'directory', mode: '0755', owner: 'root', group: 'root', uid: 0, gid: 0, size: 0 })).toThrow('/x is a directory, not a regular file');
  });

  it('the user we connect as: the change is access-risky, and the pre-flight refuses leaving out our key', () => {
    const asDeploy = ctxOf(hostOf('debian', { user: 'deploy' }));
    expect(plan({ user: 'deploy', key: NEW }, deploy(), undefined, asDeploy)).toMatchObject({ risk: 'access' });
    const edId = ED.split(' ').slice(0, 2).join(' ');
    const lockout = (raw: unknown, a: AccessInfo) => authorizedKey.lockout!(parse(raw), { user: deploy() } as never, a, asDeploy);
    expect(lockout({ user: 'deploy', key: NEW, exclusive: true }, access([edId]))).toMatch(/^would remove the key this session logs in with \(ssh-ed25519 SHA256:/);
    expect(lockout({ user: 'deploy', key: ED, state: 'absent' }, access([edId]))).toMatch(/would remove the key this session logs in with/);
    expect(lockout({ user: 'deploy', key: ED, exclusive: true }, access([edId]))).toBeUndefined();
    expect(lockout({ user: 'deploy', key: NEW, exclusive: true }, access([edId], 'password'))).toBeUndefined();
    expect(lockout({ user: 'deploy', key: `${ED}\n${RSA}`, state: 'absent' }, access([]))).toBe('would remove every authorized key of deploy, the user we connect as with public key authentication');
    expect(authorizedKey.lockout!(parse({ user: 'other', key: NEW, exclusive: true }), { user: deploy() } as never, access([edId]), asDeploy)).toBeUndefined();
  });
});

describe('authorized_key arguments', () => {
  it('refuses what it does not do, naming it', () => {
    expect(invalid({ user: 'deploy', key: 'https://github.com/deploy.keys' })).toBe('key: keys from a URL are not supported: give the key text');
    expect(invalid({ user: 'deploy', key: 'not a key' })).toBe('key: not an SSH public key line: "not a key"');
    expect(invalid({ user: 'deploy', key: '# only a comment\n' })).toBe('key: no key line (only blank or # lines)');
    expect(invalid({ user: 'deploy', key: ED, follow: true })).toMatch(/^follow: not supported: only false/);
    expect(invalid({ user: 'deploy', key: ED, validate_certs: false })).toMatch(/Unrecognized key: "validate_certs"/);
    expect(invalid({ user: 'deploy', key: ED, state: 'absent', exclusive: true })).toBe('exclusive: exclusive is only used with state: present');
    expect(invalid({ user: 'deploy', key: ED, path: 'relative/keys' })).toBe('path: an absolute file path');
    expect(invalid({ user: 'deploy', key: ED, key_options: 'a\nb' })).toMatch(/^key_options: a single line/);
    expect(invalid({ user: 'deploy', key: ED, key_options: 'no-pty from=x' })).toBe('key_options: not authorized_keys options (comma-separated, no space outside double quotes), e.g. no-pty,from="10.0.0.0/8"');
    expect(invalid({ user: 'deploy', key: ED, key_options: 'from="10.0.0.1 x",no-pty' })).toBeUndefined();
    expect(invalid({ user: 'Bad User', key: ED })).toMatch(/^user: not a valid user name/);
  });
});
