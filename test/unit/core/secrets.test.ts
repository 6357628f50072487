/**
 * The secret-name rule: every spelling of a connection password is a secret
 * (Ansible's `ansible_ssh_pass`, `ansible_become_pass`, `ansible_sudo_pass`…),
 * ordinary words that contain "pass" are not, and neither are the files or
 * environment variable names that hold a secret.
 */
import { describe, expect, it } from 'vitest';
import { isSecretName, MASK, Secrets } from '../../../src/core/secrets.js';

describe('isSecretName', () => {
  it.each([
    'password',
    'db_password',
    'ansible_password',
    'ansible_ssh_pass',
    'ansible_ssh_password',
    'ansible_become_pass',
    'ansible_become_password',
    'ansible_sudo_pass',
    'ansible_su_pass',
    'ansible_paramiko_pass',
    'become_password',
    'pass',
    'PASS',
    'mysql_root_pass',
    'db-pass',
    'pwd',
    'admin_pwd',
    'dbPass',
    'adminPwd',
    'passwd',
    'key_passphrase',
    'api_token',
    'client_secret',
    'private_key',
    'stripe_api_key',
  ])('%s is a secret', (name) => expect(isSecretName(name)).toBe(true));

  it.each([
    'bypass',
    'bypass_proxy',
    'compass',
    'passenger',
    'pass_through_mode',
    'oldpwd',
    'user',
    'ansible_sshpass_prompt',
    'password_env',
    'become_password_env',
    'passphrase_env',
    'ansible_ssh_private_key_file',
    'private_key_file',
    'token_path',
  ])('%s is not', (name) => expect(isSecretName(name)).toBe(false));

  it('masks values of such variables, deep', () => {
    const s = new Secrets();
    s.addFromVars({ ansible_become_pass: 'b3c0me!', nested: { db_pwd: 'pw-9' }, compass: 'north' });
    expect(s.mask('b3c0me! pw-9 north')).toBe(`${MASK} ${MASK} north`);
  });
});
