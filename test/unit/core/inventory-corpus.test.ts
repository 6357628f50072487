/**
 * Our inventory loader against Ansible's own answers. Every entry of the
 * inventory corpus (real inventories from public repositories,
 * test/fixtures/ansible-corpus/inventories/) and every hand-made inventory
 * (test/fixtures/inventories/ansible/) is loaded with our loader and compared
 * to what ansible-core 2.14 said about it (regen-truth.sh):
 *
 * - truth.json (`ansible-inventory --list --export`): the host set, the group
 *   set, each group's direct hosts and children, in Ansible's order;
 * - truth-list.json (`--list`, or truth.json where they are the same): each
 *   host's variables after Ansible's precedence;
 * - truth-connection.json (ansible-core's PlayContext and plugins): each
 *   host's connection: address, port, user, key file, password, become, become
 *   user and password, connect timeout.
 *
 * The one place we differ on purpose is host-key checking: where an inventory
 * turns it off (`-o StrictHostKeyChecking=no`), we refuse; that refusal is
 * asserted, then the entry is compared as a run with --host-key-policy would load it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../src/contract/errors.js';
import { loadInventory, type Inventory, type LoadInventoryOptions } from '../../../src/core/inventory.js';

const here = dirname(fileURLToPath(import.meta.url));
const roots = [resolve(here, '../../fixtures/ansible-corpus/inventories'), resolve(here, '../../fixtures/inventories/ansible')];
const HOME = '/home/corpus';

interface Manifest {
  entry: string;
  playbook_dir?: string;
}
interface AnsibleGroup {
  hosts?: string[];
  children?: string[];
  vars?: Record<string, unknown>;
}
interface AnsibleList {
  _meta: { hostvars: Record<string, Record<string, unknown>> };
  [group: string]: AnsibleGroup | AnsibleList['_meta'];
}
const groupsOf = (t: AnsibleList): [string, AnsibleGroup][] => Object.entries(t).filter(([k]) => k !== '_meta') as [string, AnsibleGroup][];
interface AnsibleConnection {
  connection: string;
  become: boolean;
  host?: string;
  port?: number | null;
  user?: string | null;
  private_key_file?: string | null;
  password?: string | null;
  timeout?: number;
  become_user?: string | null;
  become_pass?: string | null;
  error?: string;
}

const entries = roots.flatMap((root) =>
  existsSync(root)
    ? readdirSync(root)
        .filter((d) => existsSync(join(root, d, 'manifest.json')))
        .sort()
        .map((d) => join(root, d))
    : [],
);

const readJson = <T,>(p: string): T => JSON.parse(readFileSync(p, 'utf8')) as T;

function load(dir: string, m: Manifest): { inv: Inventory; refusedHostKeys: boolean } {
  const options: LoadInventoryOptions = { cwd: dir, env: { HOME }, sshConfig: false, playbookDirs: [resolve(dir, m.playbook_dir ?? '.')] };
  try {
    return { inv: loadInventory(m.entry, options), refusedHostKeys: false };
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    // the deliberate difference: never skip host-key checks
    expect(err.issues.every((i) => /never skips host-key checks/.test(i.message)), err.message).toBe(true);
    return { inv: loadInventory(m.entry, { ...options, hostKeyPolicy: 'strict' }), refusedHostKeys: true };
  }
}

/** Every group Ansible knows: the ones it printed and every child it names (empty groups are only named). */
function ansibleGroups(truth: AnsibleList): Set<string> {
  const out = new Set<string>();
  for (const [name, g] of groupsOf(truth)) {
    out.add(name);
    for (const c of g.children ?? []) out.add(c);
  }
  return out;
}

/**
 * Ansible passes the key file to ssh as written; we expand `~` and resolve a
 * relative path against the directory of the file that sets it (documented),
 * where ssh would take the current directory.
 */
function expectKeyFile(ours: string | undefined, raw: string | null | undefined, what: string): void {
  if (raw === null || raw === undefined) expect(ours, what).toBeUndefined();
  else if (raw === '~' || raw.startsWith('~/')) expect(ours, what).toBe(join(HOME, raw.slice(2)));
  else if (raw.startsWith('/')) expect(ours, what).toBe(raw);
  else expect(ours?.endsWith(`/${raw}`), `${what}: ${ours} for ${raw}`).toBe(true);
}

describe('inventories agree with ansible-core 2.14', () => {
  it('has the corpus', () => {
    expect(entries.length).toBeGreaterThanOrEqual(22);
  });

  describe.each(entries.map((d) => [d.split('/').slice(-2).join('/'), d] as const))('%s', (_name, dir) => {
    const m = readJson<Manifest>(join(dir, 'manifest.json'));
    const exported = readJson<AnsibleList>(join(dir, 'truth.json'));
    const listed = existsSync(join(dir, 'truth-list.json')) ? readJson<AnsibleList>(join(dir, 'truth-list.json')) : exported;
    const connections = readJson<Record<string, AnsibleConnection>>(join(dir, 'truth-connection.json'));
    const { inv } = load(dir, m);

    it('the same hosts', () => {
      const theirs = new Set<string>([...Object.keys(exported._meta.hostvars)]);
      for (const [, g] of groupsOf(exported)) for (const h of g.hosts ?? []) theirs.add(h);
      expect([...inv.hosts.keys()].sort()).toEqual([...theirs].sort());
      expect(Object.keys(connections).sort()).toEqual([...theirs].sort());
    });

    it('the same groups, each with the same direct hosts and children, in order', () => {
      const theirs = ansibleGroups(exported);
      expect([...inv.groupTree.keys()].filter((g) => g !== 'all').sort()).toEqual([...theirs].filter((g) => g !== 'all').sort());
      for (const name of theirs) {
        const ours = inv.groupTree.get(name);
        const t = (exported[name] ?? {}) as AnsibleGroup;
        if (name !== 'all') expect(ours?.hosts, `hosts of ${name}`).toEqual(t.hosts ?? []);
        expect(ours?.children, `children of ${name}`).toEqual(t.children ?? []);
      }
    });

    it('the same variables for every host, after precedence', () => {
      for (const [name, host] of inv.hosts) expect(host.vars, `vars of ${name}`).toEqual(listed._meta.hostvars[name] ?? {});
    });

    it('the same connection for every host', () => {
      for (const [name, t] of Object.entries(connections)) {
        expect(t.error, `Ansible refused ${name}`).toBeUndefined();
        const c = inv.hosts.get(name)?.connection;
        expect(c, name).toBeDefined();
        if (!c) continue;
        expect(c.connection, `connection of ${name}`).toBe(t.connection === 'local' ? 'local' : 'ssh');
        expect(c.become ?? false, `become of ${name}`).toBe(t.become);
        if (t.become) {
          expect(c.becomeUser ?? 'root', `become user of ${name}`).toBe(t.become_user ?? 'root');
          expect(c.becomePassword, `become password of ${name}`).toBe(t.become_pass ?? undefined);
        }
        if (t.connection !== 'ssh') continue;
        expect(c.host, `address of ${name}`).toBe(t.host);
        expect(c.port, `port of ${name}`).toBe(t.port ?? 22);
        expect(c.user, `user of ${name}`).toBe(t.user ?? undefined);
        expectKeyFile(c.identityFile, t.private_key_file, `key file of ${name}`);
        expect(c.password, `password of ${name}`).toBe(t.password ?? undefined);
        expect(c.connectTimeoutMs, `timeout of ${name}`).toBe((t.timeout ?? 10) * 1000);
      }
    });
  });
});
