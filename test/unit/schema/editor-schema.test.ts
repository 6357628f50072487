/**
 * What an editor shows: the committed JSON Schemas (schema/*.json, used by
 * yaml-language-server through the `# yaml-language-server: $schema=` modeline)
 * checked with a JSON Schema validator (ajv, draft 2020-12) on the playbooks and
 * inventory we ship. Zero errors: a false error in the editor teaches users to
 * ignore it. Templated arguments (`{{ … }}` for a boolean, number, enum, list,
 * mapping) are valid; a wrong literal value still is not.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ajv = new Ajv2020({ allErrors: true, strict: false, logger: false });
const validator = (name: string) => ajv.compile(JSON.parse(readFileSync(resolve(root, 'schema', name), 'utf8')) as object);
const playbook = validator('playbook.json');
const inventory = validator('inventory.json');

/** The errors an editor would mark, as `path: message` (empty when valid). */
function errors(validate: ReturnType<typeof validator>, doc: unknown): string[] {
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}
const fileDoc = (rel: string): unknown => parse(readFileSync(resolve(root, rel), 'utf8'));
const playbookFiles = [
  ...readdirSync(resolve(root, 'playbooks')).filter((f) => /\.ya?ml$/.test(f)).map((f) => `playbooks/${f}`),
  'examples/day-one.yaml',
  'examples/local-audit.yaml',
];
const play = (task: string): unknown => parse(`- hosts: all\n  tasks:\n    - ${task}\n`);

describe('editor JSON Schemas on the shipped files', () => {
  it.each(playbookFiles)('%s: no errors against schema/playbook.json', (rel) => {
    expect(errors(playbook, fileDoc(rel))).toEqual([]);
  });
  it('examples/inventory.yaml: no errors against schema/inventory.json', () => {
    expect(errors(inventory, fileDoc('examples/inventory.yaml'))).toEqual([]);
  });
  it('the npm package ships schema/ (docs/playbooks.md points modelines at node_modules/provision/schema/)', () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { name: string; files: string[] };
    expect(pkg.name).toBe('provision');
    expect(pkg.files).toContain('schema');
    expect(readFileSync(resolve(root, 'docs/playbooks.md'), 'utf8')).toContain('$schema=./node_modules/provision/schema/playbook.json');
  });
  it('the shipped playbooks name the schema in their modeline', () => {
    for (const rel of ['playbooks/harden.yaml', 'examples/day-one.yaml']) expect(readFileSync(resolve(root, rel), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/playbook.json');
  });
});

describe('templated arguments in the playbook schema', () => {
  it.each([
    'service: { name: "{{ svc }}", state: "{{ svc_state }}", enabled: "{{ at_boot | bool }}" }',
    'systemd: { name: nginx, masked: "{{ mask }}", daemon_reload: "{{ reload }}" }',
    'user: { name: "{{ user }}", authorized_keys: "{{ keys }}", exclusive: "{{ only }}" }',
    'fail2ban: { sshd_port: "{{ ssh_port }}", maxretry: "{{ tries }}", bantime: "{{ ban }}" }',
    'sshd_config: { settings: "{{ sshd_settings }}" }',
    'file: { path: /srv, mode: "{{ mode }}", state: "{% if d %}directory{% else %}file{% endif %}" }',
    'service: name=nginx state=started enabled=yes',
  ])('valid: %s', (task) => {
    expect(errors(playbook, play(task))).toEqual([]);
  });
  it.each(['service: { name: nginx, state: runing }', 'service: { name: nginx, enabled: maybe }', 'service: { name: nginx, state: started, colour: blue }', 'systemd: { name: nginx, scope: user }'])(
    'still an error: %s',
    (task) => {
      expect(errors(playbook, play(task)).length).toBeGreaterThan(0);
    },
  );
});
