/** Variables checked before any host is contacted: references read from templates, cycles, undefined names. */
import { describe, expect, it } from 'vitest';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { templateNames } from '../../../src/core/template.js';
import { checkVariables } from '../../../src/core/varcheck.js';
import { registry } from '../../../src/tasks/index.js';

const names = (t: string, condition = false) => {
  const n = templateNames(t, condition);
  return { used: [...n.used].sort(), guarded: [...n.guarded].sort() };
};

describe('templateNames', () => {
  it('reads the variables a template uses, and which it guards', () => {
    expect(names('{{ a.b | default(c) }}')).toEqual({ used: ['a', 'c'], guarded: ['a'] });
    expect(names('x is defined and x > y', true)).toEqual({ used: ['x', 'y'], guarded: ['x'] });
    expect(names("{{ ports | map('regex_replace', '$', '/tcp') | list }}")).toEqual({ used: ['ports'], guarded: [] });
    expect(names('{{ hostvars[h].x }}')).toEqual({ used: ['h', 'hostvars'], guarded: [] });
  });
  it('leaves out what the template binds, function names and globals', () => {
    expect(names('{% for p in ports %}{{ p }}{{ q }}{% endfor %}')).toEqual({ used: ['ports', 'q'], guarded: [] });
    expect(names('{% set z = 1 %}{{ z + w }}')).toEqual({ used: ['w'], guarded: [] });
    expect(names("{{ lookup('env', 'HOME') ~ range(3) | join }}")).toEqual({ used: [], guarded: [] });
    expect(names('{{ x if True else None }}{{ y | default(omit) }}')).toEqual({ used: ['x', 'y'], guarded: ['y'] });
  });
});

describe('checkVariables', () => {
  const inventory = parseInventory('all:\n  hosts:\n    web1: { a: "{{ b }}" }\n    web2: { b: 1 }\n', 'inv.yaml');
  const check = (playbook: string, extraVars: Record<string, unknown> = {}) => {
    const book = parsePlaybook(playbook, 'pb.yaml', registry);
    return checkVariables({ playbook: book, inventory, extraVars, hostsOf: () => ['web1', 'web2'] }).map((i) => `${i.location?.line ?? '-'} ${i.message}`);
  };

  it('finds a cycle through inventory and play variables, at the play variable', () => {
    expect(check('- hosts: all\n  vars:\n    b: "{{ a }}"\n  tasks: []\n')).toEqual([
      '3 variable "b" is defined through itself (b → a → b): it can never be rendered',
    ]);
    // a -e value breaks it
    expect(check('- hosts: all\n  vars:\n    b: "{{ a }}"\n  tasks: []\n', { b: 2 })).toEqual([]);
  });

  it('knows registered, loop, fact and result names; flags only what nothing defines', () => {
    const book = `- hosts: all
  tasks:
    - command: echo {{ a }} {{ inventory_hostname }} {{ ansible_distribution }}
      register: r
      changed_when: "'x' in stdout or r.rc != 0"
    - command: echo {{ item }} {{ r.stdout }}
      loop: [1]
    - command: echo {{ typo }}
      when: other is defined and other
`;
    expect(check(book)).toEqual(['8 undefined variable "typo" in "echo {{ typo }}": no inventory, play, extra (-e), registered or loop variable has that name']);
  });
});
