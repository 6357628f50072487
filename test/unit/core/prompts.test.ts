/**
 * vars_prompt: provision never prompts; -e, else the default, else the run is
 * refused before any host. Runs on this machine through LocalConnection, and
 * what the tasks wrote is read back from the files themselves. The expected
 * hashes come from Python's crypt(3) (`crypt.crypt('s3cret-default', '$1$foo$')`),
 * the function ansible-core's encrypt uses without passlib.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planRun } from '../../../src/api.js';
import { LocalConnection } from '../../../src/connections/local.js';
import { ValidationError } from '../../../src/contract/errors.js';
import { parseInventory } from '../../../src/core/inventory.js';
import { parsePlaybook } from '../../../src/core/playbook.js';
import { run } from '../../../src/core/runner.js';
import { registry } from '../../../src/tasks/index.js';
import { writeFileSync } from 'node:fs';

const PLAY = `
- hosts: all
  vars_prompt:
    - name: release_version
      prompt: "Product release version"
      default: "my_default_version"
      private: no
    - name: pw_hash
      prompt: "Enter password"
      private: yes
      encrypt: "md5_crypt"
      confirm: yes
      salt: "foo"
      default: "s3cret-default"
    - name: token
      prompt: "token"
  tasks:
    - name: write
      copy: { dest: "ROOT/out", content: "{{ release_version }} {{ pw_hash }} {{ token }}\\n" }
    - name: say
      command: "echo token={{ token }} default={{ release_version }}"
`;

function setup() {
  const root = mkdtempSync(join(tmpdir(), 'provision-prompts-'));
  const file = join(root, 'site.yaml');
  writeFileSync(file, PLAY.replaceAll('ROOT', root));
  const book = parsePlaybook(PLAY.replaceAll('ROOT', root), file, registry);
  const go = (extraVars: Record<string, unknown>) =>
    run({ inventory: parseInventory('all:\n  hosts:\n    h1: {}\n', 'inv.yaml'), playbook: book, registry, extraVars, connect: async (spec) => new LocalConnection(spec.name) });
  return { root, file, go };
}

describe('vars_prompt', () => {
  it('takes -e first, then the default (hashed with encrypt), and masks private values in the results', async () => {
    const { root, go } = setup();
    const s = await go({ token: 'tok-from-e-123' });
    expect(s.exitCode).toBe(0);
    expect(readFileSync(join(root, 'out'), 'utf8')).toBe('my_default_version $1$foo$Gg/nskQNg8Dm20gygBvbY0 tok-from-e-123\n');
    const say = s.results.find((r) => r.task === 'say');
    // token is private by default (Ansible's default): masked even when it came from -e; release_version is not private
    expect(say?.stdout).toContain('default=my_default_version');
    expect(JSON.stringify(s.results)).not.toContain('tok-from-e-123');
    expect(JSON.stringify(s.results)).not.toContain('$1$foo$Gg/nskQNg8Dm20gygBvbY0');
  });

  it('refuses a run where a prompt has neither -e nor a default, at its location, before any host', async () => {
    const { file, go } = setup();
    const err = await go({}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toBe(`${file}:15:7 vars_prompt token has no default and provision never prompts: pass -e token=VALUE`);
  });

  it('validates unchanged, with a warning for the prompt a run needs -e for', () => {
    const { file } = setup();
    const plan = planRun({ playbooks: [file] });
    expect(plan.warnings).toEqual([`${file}:15:7 vars_prompt token has no default and provision never prompts: pass -e token=VALUE (a run is refused without it)`]);
    expect(planRun({ playbooks: [file], extraVars: { token: 'x' } }).warnings).toEqual([]);
  });

  it('refuses what it cannot do, naming it', () => {
    for (const [entry, message] of [
      ['{ name: a, encrypt: bcrypt }', /encrypt/],
      ['{ name: a, unsafe: true }', /unsafe: true is not supported/],
      ['{ name: a, salt: "no spaces" }', /crypt salt/],
      ['{ name: a, ask: yes }', /unknown key "ask"/],
    ] as const) {
      expect(() => parsePlaybook(`- hosts: all\n  vars_prompt:\n    - ${entry}\n  tasks: []\n`, 'p.yaml', registry)).toThrow(message);
    }
  });
});
