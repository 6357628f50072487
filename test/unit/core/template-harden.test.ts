/**
 * playbooks/harden.yaml's firewall rules and listener allow-list, rendered by
 * our template engine from the playbook as it is loaded for a run, asserted as
 * exact strings and against what Ansible renders for the same playbook
 * (recorded by test/fixtures/template-oracle/oracle.py). A backreference that
 * renders as a literal 1 put `--dport 1` on hardened hosts once.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPlaybook } from '../../../src/core/playbook.js';
import { renderValue } from '../../../src/core/template.js';
import { registry } from '../../../src/tasks/index.js';

const HARDEN = fileURLToPath(new URL('../../../playbooks/harden.yaml', import.meta.url));
const oracle = JSON.parse(readFileSync(new URL('../../fixtures/template-oracle/expected.json', import.meta.url), 'utf8')) as {
  harden: { name: string; vars: Record<string, unknown>; service_rules: string[]; ssh_rule: string; listeners_allow: string[] }[];
};

const play = loadPlaybook(HARDEN, registry).plays[0];
if (!play) throw new Error('harden.yaml has no play');
const listeners = play.tasks.find((t) => t.module === 'listeners');
/** The task that owns a family's whole ruleset (not the single-rule tasks that open a moved SSH port first). */
const ruleset = (v: 4 | 6) => play.tasks.find((t) => t.module === 'iptables' && (t.args as { ip_version?: number; chains?: unknown }).ip_version === v && (t.args as { chains?: unknown }).chains !== undefined);
const firewall4 = ruleset(4);
const firewall6 = ruleset(6);

function render(overrides: Record<string, unknown>) {
  const vars: Record<string, unknown> = { ...play?.vars, ...overrides, os_family: 'debian' };
  const serviceRules = renderValue(vars.service_rules, vars);
  const sshRule = renderValue(vars.ssh_rule, vars);
  const allow = renderValue((listeners?.args as { allow: unknown }).allow, vars);
  return { serviceRules, sshRule, allow };
}

const rule = (port: number) => `-p tcp -m tcp --dport ${port} -m conntrack --ctstate NEW -j ACCEPT`;

describe('harden.yaml firewall and listener expressions', () => {
  it('default variables: ports 80 and 443', () => {
    const { serviceRules, sshRule, allow } = render({});
    expect(serviceRules).toEqual([rule(80), rule(443)]);
    expect(sshRule).toBe(rule(22));
    expect(allow).toEqual(['22/tcp', '80/tcp', '443/tcp']);
  });

  it('firewall_tcp_ports: [8080]', () => {
    const { serviceRules, allow } = render({ firewall_tcp_ports: [8080] });
    expect(serviceRules).toEqual([rule(8080)]);
    expect(allow).toEqual(['22/tcp', '8080/tcp']);
  });

  it('both firewall tasks put the service rules in INPUT', () => {
    for (const task of [firewall4, firewall6]) {
      const rules = (task?.args as { chains: { INPUT: { rules: unknown[] } } }).chains.INPUT.rules;
      expect(rules).toContain('{{ service_rules }}');
    }
  });

  it('every scenario renders what Ansible renders for the same playbook', () => {
    expect(oracle.harden.length).toBeGreaterThanOrEqual(3);
    for (const sc of oracle.harden) {
      const { serviceRules, sshRule, allow } = render(sc.vars);
      expect(serviceRules, sc.name).toEqual(sc.service_rules);
      expect(sshRule, sc.name).toBe(sc.ssh_rule);
      expect(allow, sc.name).toEqual(sc.listeners_allow);
    }
  });
});
