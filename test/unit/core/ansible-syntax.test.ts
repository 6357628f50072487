/**
 * Ansible's key=value spellings, measured against Ansible itself: every case
 * of test/fixtures/ansible-args/oracle.py split and parsed by ansible-core's
 * own splitter (expected.json) and by ours. Also the FQCN short names.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ansibleBoolean, ArgsSyntaxError, collectionError, MODULE_COLLECTIONS, parseKeyValues, shortName, splitArgs } from '../../../src/core/ansible-syntax.js';
import { registry } from '../../../src/tasks/index.js';

interface Case {
  text: string;
  freeForm: boolean;
  split: string[];
  kv: Record<string, string>;
}

const cases = JSON.parse(readFileSync(new URL('../../fixtures/ansible-args/expected.json', import.meta.url), 'utf8')) as Case[];

describe('key=value arguments as ansible.parsing.splitter reads them', () => {
  it.each(cases.map((c) => [JSON.stringify(c.text), c] as const))('%s', (_name, c) => {
    expect(splitArgs(c.text)).toEqual(c.split);
    const { options, raw } = parseKeyValues(c.text, c.freeForm);
    const { _raw_params: rawParams, ...expectedOptions } = c.kv;
    expect(options).toEqual(expectedOptions);
    expect(raw).toBe(rawParams);
  });

  it('refuses unbalanced quotes and {{ }}, and escapes by Unicode name, with the text', () => {
    expect(() => splitArgs('msg="open')).toThrow(ArgsSyntaxError);
    expect(() => splitArgs('msg={{ a ')).toThrow(/unbalanced quotes or \{\{ \}\}/);
    expect(() => parseKeyValues('x=\\N{BULLET}')).toThrow(/Unicode name/);
  });

  it("reads Ansible's boolean words", () => {
    expect(['yes', 'On', 'TRUE', '1', 'y', 't'].map(ansibleBoolean)).toEqual([true, true, true, true, true, true]);
    expect(['no', 'off', 'False', '0', 'n', 'f'].map(ansibleBoolean)).toEqual([false, false, false, false, false, false]);
    expect(ansibleBoolean('maybe')).toBeUndefined();
  });
});

describe('collection-qualified names', () => {
  it('every task type is in the collection table, except provision\'s own', () => {
    const own = ['sshd_config', 'ssh_host_keys', 'firewall_persist', 'fail2ban', 'unattended_upgrades', 'listeners', 'home_dirs'];
    expect(Object.keys(registry).filter((k) => MODULE_COLLECTIONS[k] === undefined)).toEqual(own);
  });

  const known = (n: string) => ['copy', 'service', 'sysctl', 'sshd_config'].includes(n);
  it('map to our task type of the same short name in the collection it lives in', () => {
    expect(shortName('ansible.builtin.copy', known)).toBe('copy');
    expect(shortName('ansible.legacy.copy', known)).toBe('copy');
    expect(shortName('ansible.posix.sysctl', known)).toBe('sysctl');
    expect(shortName('community.general.ufw', known)).toBe('community.general.ufw');
    expect(shortName('kubernetes.core.copy', known)).toBe('kubernetes.core.copy');
    expect(shortName('copy', known)).toBe('copy');
  });
  it('a wrong collection is refused with the right name', () => {
    expect(shortName('ansible.posix.service', known)).toBe('ansible.posix.service');
    expect(collectionError('ansible.posix.service', known)).toBe('ansible.posix.service: there is no service in ansible.posix: write ansible.builtin.service (or service)');
    expect(collectionError('community.general.copy', known)).toBe('community.general.copy: there is no copy in community.general: write ansible.builtin.copy (or copy)');
    expect(collectionError('ansible.builtin.sysctl', known)).toBe('ansible.builtin.sysctl: there is no sysctl in ansible.builtin: write ansible.posix.sysctl (or sysctl)');
    expect(collectionError('ansible.legacy.sysctl', known)).toContain('write ansible.posix.sysctl');
    expect(collectionError('ansible.builtin.sshd_config', known)).toBe("ansible.builtin.sshd_config: sshd_config is a task type of provision's own, not an Ansible module: write sshd_config");
    for (const ok of ['ansible.builtin.copy', 'ansible.legacy.service', 'ansible.posix.sysctl', 'kubernetes.core.k8s', 'copy']) expect(collectionError(ok, known)).toBeUndefined();
  });
});
