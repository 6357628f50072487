/**
 * What the Ansible comparison (inventory-corpus.test.ts) cannot show: where
 * provision refuses or warns instead of doing what Ansible does, how native
 * names meet Ansible's spellings, and that every error names its file:line:col.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatInventoryWarning, loadInventories, planRun, provision } from '../../../src/api.js';
import { run as cli, type Io } from '../../../src/cli/program.js';
import { loadInventory, parseInventory, type Inventory, type LoadInventoryOptions } from '../../../src/core/inventory.js';
import { messageOf } from './_validation.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpus = resolve(here, '../../fixtures/ansible-corpus/inventories');
const tmp = mkdtempSync(join(tmpdir(), 'provision-inventory-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const env = { HOME: '/home/me' };

/** Write files under a fresh directory; returns its path. */
function tree(name: string, files: Record<string, string>): string {
  const root = join(tmp, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const ini = (text: string, options: LoadInventoryOptions = {}): Inventory => parseInventory(text, 'hosts', { env, format: 'ini', ...options });
const conn = (inv: Inventory, host: string) => inv.hosts.get(host)?.connection;

describe('Ansible spellings of connection settings', () => {
  it('native names and Ansible spellings: the more specific layer wins, the native name on the same layer', () => {
    const inv = ini('[web]\nh1 user=native_host\nh2 ansible_user=ansible_host\nh3 user=a ansible_user=b\n[web:vars]\nansible_user=group\n');
    expect(conn(inv, 'h1')?.user).toBe('native_host');
    expect(conn(inv, 'h2')?.user).toBe('ansible_host');
    expect(conn(inv, 'h3')?.user).toBe('a');
  });

  it('among Ansible spellings, Ansible\'s priority decides wherever each is set (ansible_ssh_user in a group beats ansible_user on the host)', () => {
    const inv = ini('[web]\nh1 ansible_user=on_host\n[web:vars]\nansible_ssh_user=in_group\n');
    expect(conn(inv, 'h1')?.user).toBe('in_group');
  });

  it('ansible_sudo (Ansible 1.x) is become; ansible_become wins over it; Ansible booleans', () => {
    const inv = ini('h1 ansible_sudo=yes\nh2 ansible_sudo=true ansible_become=no\nh3 ansible_become=On\nh4 become=1\n');
    expect([1, 2, 3, 4].map((i) => conn(inv, `h${i}`)?.become)).toEqual([true, false, true, true]);
    expect(messageOf(() => ini('h1 ansible_become=sometimes\n'))).toBe('hosts:1:19 ungrouped.hosts.h1.ansible_become: expected a boolean (true/false, yes/no, on/off, 1/0), got "sometimes"');
  });

  it('ansible_become_method: only sudo', () => {
    expect(conn(ini('h1 ansible_become_method=sudo ansible_become=true\n'), 'h1')?.become).toBe(true);
    expect(messageOf(() => ini('h1 ansible_become_method=su\n'))).toBe('hosts:1:26 ungrouped.hosts.h1.ansible_become_method: only sudo is supported, got "su"');
  });

  it('renders {{ }} in connection settings with the host\'s variables', () => {
    const inv = parseInventory('all:\n  vars: { domain: example.com, ansible_host: "{{ inventory_hostname }}.{{ domain }}" }\n  hosts: { web1: }\n', 'i.yaml', { env });
    expect(conn(inv, 'web1')?.host).toBe('web1.example.com');
    expect(messageOf(() => parseInventory('all:\n  hosts: { web1: { ansible_user: "{{ nope.x }}" } }\n', 'i.yaml', { env }))).toMatch(/^i\.yaml:2:34 all\.hosts\.web1\.ansible_user: cannot render ansible_user for host web1: /);
    // a template is checked once rendered
    const ports = '[web]\nw1 p=2222\nw2 p=70000\n[web:vars]\nansible_port="{{ p }}"\n';
    expect(messageOf(() => ini(ports))).toBe('hosts:5:14 web.vars.ansible_port: cannot render ansible_port for host w2: 70000: must be at most 65535, got 70000');
    expect(conn(ini(ports.replace('70000', '2200')), 'w1')?.port).toBe(2222);
  });
});

describe('secrets, whatever their spelling', () => {
  it('every password value is registered for masking, winning or not', () => {
    const inv = ini(
      [
        '[web]',
        'h1 ansible_ssh_pass=sshpass1 ansible_password=pw0 ansible_ssh_password=sshpw2',
        'h2 ansible_become_pass=bp3 ansible_sudo_pass=sp4 ansible_become_password=bpw5 become_password=native6',
        'h3 ansible_su_pass=su7 db_pwd=pwd8 mysql_pass=12345678 ansible_ssh_private_key_file=/keys/not-a-secret',
      ].join('\n'),
    );
    expect(inv.secrets.sort()).toEqual(['12345678', 'bp3', 'bpw5', 'native6', 'pw0', 'pwd8', 'sp4', 'sshpass1', 'sshpw2', 'su7'].sort());
    expect(conn(inv, 'h1')?.password).toBe('sshpw2');
    expect(conn(inv, 'h2')?.becomePassword).toBe('native6');
  });
});

describe('ssh arguments', () => {
  it('what maps onto the connection is used', () => {
    const inv = ini(`h1 ansible_ssh_common_args='-o ProxyJump=admin@b1:2222 -o UserKnownHostsFile=/etc/kh -o StrictHostKeyChecking=accept-new' ansible_ssh_extra_args='-p 2200 -i ~/.ssh/k -l deploy -o ConnectTimeout=3'\n`);
    expect(conn(inv, 'h1')).toMatchObject({
      port: 2200,
      user: 'deploy',
      identityFile: '/home/me/.ssh/k',
      knownHostsFile: '/etc/kh',
      hostKeyPolicy: 'accept-new',
      connectTimeoutMs: 3000,
      jump: [{ host: 'b1', port: 2222, user: 'admin' }],
    });
  });

  it('connection sharing and keep-alive draw a warning; anything else is refused naming the option', () => {
    const inv = ini(`h1 ansible_ssh_args='-C -o ControlMaster=auto -o ControlPersist=60s' ansible_ssh_common_args='-o ServerAliveInterval=30'\n`);
    expect(inv.warnings.map(formatInventoryWarning)).toEqual([
      'hosts:1:21 ansible_ssh_args: -C (compression) is not used by provision',
      'hosts:1:21 ansible_ssh_args: -o ControlMaster=auto is not used by provision (it keeps one connection per host and handles keep-alive itself)',
      'hosts:1:21 ansible_ssh_args: -o ControlPersist=60s is not used by provision (it keeps one connection per host and handles keep-alive itself)',
      'hosts:1:94 ansible_ssh_common_args: -o ServerAliveInterval=30 is not used by provision (it keeps one connection per host and handles keep-alive itself)',
    ]);
    expect(messageOf(() => ini(`h1 ansible_ssh_common_args='-o ProxyCommand="ssh -W %h:%p bastion" -A'\n`)).split('\n')).toEqual([
      'hosts:1:28 ungrouped.hosts.h1.ansible_ssh_common_args: -o ProxyCommand=ssh -W %h:%p bastion is not supported by provision; for a bastion use -J/ProxyJump or the jump variable (supported: -o ProxyJump=…, -J, -o StrictHostKeyChecking=yes|accept-new, -o UserKnownHostsFile=…, -o User=…, -o Port=…, -o IdentityFile=…, -o IdentitiesOnly=…, -o ConnectTimeout=…, -p, -i, -l)',
      'hosts:1:28 ungrouped.hosts.h1.ansible_ssh_common_args: -A is not supported by provision (supported: -o ProxyJump=…, -J, -o StrictHostKeyChecking=yes|accept-new, -o UserKnownHostsFile=…, -o User=…, -o Port=…, -o IdentityFile=…, -o IdentitiesOnly=…, -o ConnectTimeout=…, -p, -i, -l)',
    ]);
  });

  it('host-key checks are never skipped: StrictHostKeyChecking=no and host_key_checking false are refused (a real inventory)', () => {
    const dir = join(corpus, '18-a4d-orchestration');
    const msg = messageOf(() => loadInventory('orchestration/inventory', { cwd: dir, env, sshConfig: false }));
    expect(msg).toBe(
      'orchestration/inventory:19:25 multi.vars.ansible_ssh_common_args: -o StrictHostKeyChecking=no: provision never skips host-key checks; remove it, or set host_key_policy: accept-new in the inventory (or --host-key-policy accept-new): unknown keys are then recorded, changed keys still refused',
    );
    expect(messageOf(() => ini('[all:vars]\nansible_host_key_checking=False\n[web]\nh1\n'))).toMatch(/^hosts:2:27 all\.vars\.ansible_host_key_checking: false: provision never skips host-key checks/);
    // with --host-key-policy the run decides: loaded, with a warning
    const inv = loadInventory('orchestration/inventory', { cwd: dir, env, sshConfig: false, hostKeyPolicy: 'accept-new' });
    expect(inv.warnings.map(formatInventoryWarning)).toContain(
      'orchestration/inventory:19:25 ansible_ssh_common_args: -o StrictHostKeyChecking=no: not applied, provision never skips host-key checks (--host-key-policy accept-new decides)',
    );
  });
});

describe('warnings', () => {
  it('Ansible variables provision has no use for: one warning per name, where it is first set', () => {
    const inv = ini('[a]\nh1 ansible_python_interpreter=/usr/bin/python3\nh2 ansible_python_interpreter=python ansible_pipelining=true\n[a:vars]\nansible_cron_minute=5\n');
    expect(inv.warnings.map(formatInventoryWarning)).toEqual([
      'hosts:2:31 not used by provision: ansible_python_interpreter',
      'hosts:3:57 not used by provision: ansible_pipelining',
    ]);
    // an ansible_* name Ansible does not define is an ordinary variable
    expect(inv.hosts.get('h1')?.vars.ansible_cron_minute).toBe(5);
  });

  it('reach planRun(), provision() (events.warning) and provision validate', async () => {
    const dir = tree('warn', { 'hosts': '[web]\nlocalhost ansible_connection=local ansible_python_interpreter=python3\n', 'site.yaml': '- hosts: web\n  gather_facts: false\n  tasks: []\n' });
    const inventory = [join(dir, 'hosts')];
    const playbooks = [join(dir, 'site.yaml')];
    const line = `${join(dir, 'hosts')}:2:63 not used by provision: ansible_python_interpreter`;
    expect(planRun({ inventory, playbooks, env }).warnings).toEqual([line]);
    const seen: string[] = [];
    await provision({ inventory, playbooks, env, events: { warning: (w) => seen.push(w) }, connect: () => Promise.reject(new Error('no')) });
    expect(seen).toContain(line);
    const err: string[] = [];
    const io: Io = { out: () => {}, err: (s) => err.push(s), stdout: { isTTY: false }, env, onInterrupt: () => () => {} };
    expect(await cli(['validate', '-i', inventory[0] as string, playbooks[0] as string], io)).toBe(0);
    expect(err.join('')).toBe(`warning: ${line}\n`);
  });
});

describe('INI files', () => {
  it('errors name file:line:col, and no YAML parser noise', () => {
    const dir = tree('bad-ini', { hosts: '# inventory\n[web\n[db:vars]\nx=1\n[web2]\nh1 a=1 b\n[p:children]\nmissing\n' });
    const msg = messageOf(() => loadInventory('hosts', { cwd: dir, env, sshConfig: false }));
    expect(msg.split('\n')).toEqual([
      'hosts:2:1 invalid host pattern "[web": host range in "[web" has no closing ]',
      'hosts:3:1 section [db:vars] is for a group this file does not define (add [db] or [db:children])',
      'hosts:6:8 expected key=value after the host name, got "b"',
      'hosts:8:1 section [p:children] names group "missing", which this file does not define (add [missing])',
    ]);
    expect(msg).not.toMatch(/YAML/);
  });

  it('an extension-less file is YAML when it reads as a YAML inventory, else INI; a YAML-looking one gets YAML errors', () => {
    const dir = tree('sniff', { yaml: 'all:\n  hosts:\n    y1:\n', ini: 'i1\n[g]\ni2\n', broken: 'all:\n  hosts: [\n' });
    expect([...loadInventory('yaml', { cwd: dir, env, sshConfig: false }).hosts.keys()]).toEqual(['y1']);
    expect([...loadInventory('ini', { cwd: dir, env, sshConfig: false }).hosts.keys()]).toEqual(['i1', 'i2']);
    expect(messageOf(() => loadInventory('broken', { cwd: dir, env, sshConfig: false }))).toMatch(/^broken:\d+:\d+ YAML syntax error/);
  });

  it('refuses what it cannot read: scripts, inventory plugins, TOML, vault', () => {
    const dir = tree('refuse', {
      'script.py': '#!/usr/bin/env python3\nprint("{}")\n',
      'aws_ec2.yml': 'plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n',
      'hosts.toml': '[all]\n',
      vaulted: '$ANSIBLE_VAULT;1.1;AES256\n6162\n',
      'vault-value.yml': 'all:\n  vars:\n    pw: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n',
      'group_vars/all.yml': 'pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n',
      hosts: 'h1\n',
    });
    chmodSync(join(dir, 'script.py'), 0o755);
    const load = (s: string) => messageOf(() => loadInventory(s, { cwd: dir, env, sshConfig: false }));
    expect(load('script.py')).toBe('script.py:1:1 dynamic inventory scripts are not supported: provision reads static YAML and INI inventories');
    expect(load('aws_ec2.yml')).toBe('aws_ec2.yml:1:9 plugin: inventory plugin configuration (plugin: amazon.aws.aws_ec2) is not supported: provision reads static inventories only');
    expect(load('hosts.toml')).toBe('hosts.toml: TOML inventories are not supported: use the YAML or INI format');
    expect(load('vaulted')).toBe('vaulted:1:1 ansible-vault encrypted inventories are not supported: give secrets through *_env variables');
    expect(load('vault-value.yml')).toBe('vault-value.yml:3:9 ansible-vault encrypted values are not supported: give secrets through *_env variables');
    expect(load('hosts')).toBe('group_vars/all.yml:1:5 ansible-vault encrypted content is not supported: give secrets through *_env variables');
  });
});

describe('directories and vars files', () => {
  it('skipped .ini files, shadowed vars files and vars for unknown groups or hosts draw warnings', () => {
    const dir = tree('dirwarn', {
      'inv/hosts': '[web]\nw1\n',
      'inv/extra.ini': '[other]\no1\n',
      'inv/group_vars/web.yml': 'a: 1\n',
      'inv/group_vars/web.json': '{"a": 2}\n',
      'inv/group_vars/wbe.yml': 'typo: true\n',
      'inv/host_vars/w2.yml': 'typo: true\n',
    });
    const inv = loadInventory('inv', { cwd: dir, env, sshConfig: false });
    expect(inv.hosts.get('w1')?.vars).toEqual({ a: 1 });
    expect(inv.warnings.map(formatInventoryWarning)).toEqual([
      'inv/extra.ini is not read: Ansible skips .ini files in an inventory directory (pass the file itself with -i, or rename it)',
      'inv/group_vars/web.json is not read: inv/group_vars/web.yml comes first (Ansible reads only the first of web, web.yml, web.yaml, web.json)',
      'inv/group_vars/wbe.yml:1:1 group_vars for "wbe", a group this inventory does not have: not used',
      'inv/host_vars/w2.yml:1:1 host_vars for "w2", a host this inventory does not have: not used',
    ]);
  });

  it('a bad value in a vars file is refused at its place in that file', () => {
    const dir = tree('varsbad', { hosts: '[web]\nw1\n', 'group_vars/web/conn.yml': '# connection\nansible_port: 99999\n', 'play/host_vars/w1.yml': '- a list\n' });
    expect(messageOf(() => loadInventory('hosts', { cwd: dir, env, sshConfig: false, playbookDirs: [join(dir, 'play')] })).split('\n')).toEqual([
      'group_vars/web/conn.yml:2:15 ansible_port: must be at most 65535, got 99999',
      'play/host_vars/w1.yml:1:1 a vars file holds a mapping of variables, got a list',
    ]);
  });

  it('a relative key file is relative to the directory of the inventory or the playbook that sets it', () => {
    const dir = tree('relkeys', {
      'inv/hosts': '[web]\nw1\nw2 ansible_ssh_private_key_file=keys/inline\n',
      'inv/group_vars/web.yml': 'ansible_ssh_private_key_file: keys/group\n',
      'play/host_vars/w1.yml': 'identity_file: keys/play\n',
    });
    const inv = loadInventory('inv/hosts', { cwd: dir, env, sshConfig: false, playbookDirs: [join(dir, 'play')] });
    expect(conn(inv, 'w1')?.identityFile).toBe(join(dir, 'play/keys/play'));
    expect(conn(inv, 'w2')?.identityFile).toBe(join(dir, 'inv/keys/inline'));
    expect(loadInventory('inv/hosts', { cwd: dir, env, sshConfig: false }).hosts.get('w1')?.connection.identityFile).toBe(join(dir, 'inv/keys/group'));
  });

  it('several -i are one inventory, as in Ansible: a host in two sources is in both groups, later variables win', () => {
    const dir = tree('multi', { a: '[web]\nh1 x=1 y=1\n', 'b.yml': 'db:\n  hosts:\n    h1: { y: 2 }\n' });
    const inv = loadInventories([join(dir, 'a'), join(dir, 'b.yml')], env, { sshConfig: false });
    expect(inv.hosts.get('h1')?.groups).toEqual(['all', 'db', 'web']);
    expect(inv.hosts.get('h1')?.vars).toEqual({ x: 1, y: 2 });
    expect(inv.groupTree.get('all')?.children).toEqual(['ungrouped', 'web', 'db']);
  });
});

describe('the README example', () => {
  it('its YAML and INI inventories describe the same hosts, reached the same way', () => {
    const readme = readFileSync(resolve(here, '../../../README.md'), 'utf8');
    const example = readme.slice(readme.indexOf('## Example'));
    const block = (lang: string): string => (new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(example) as RegExpExecArray)[1] as string;
    const dir = tree('readme', { 'inventory.yaml': block('yaml'), 'inventory.ini': block('ini') });
    const load = (f: string) => loadInventory(f, { cwd: dir, env: { ...env, SUDO_PASS: 's3cret' }, sshConfig: false });
    const yaml = load('inventory.yaml');
    const ini = load('inventory.ini');
    expect([...ini.hosts.keys()]).toEqual([...yaml.hosts.keys()]);
    for (const [name, h] of yaml.hosts) expect(ini.hosts.get(name)?.connection, name).toEqual(h.connection);
    expect(ini.hosts.get('web1.example.com')?.groups).toEqual(['all', 'web']);
  });
});
