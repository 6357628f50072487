import { describe, expect, it } from 'vitest';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadInventory, parseInventory, type Inventory } from '../../../src/core/inventory.js';
import { messageOf } from './_validation.js';

const fixtures = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/inventories');
const env = { HOME: '/home/me' };

describe('loadInventory (YAML file)', () => {
  const inv: Inventory = loadInventory(join(fixtures, 'site.yaml'), { env });
  const host = (n: string) => {
    const h = inv.hosts.get(n);
    if (!h) throw new Error(`no host ${n}`);
    return h;
  };

  it('lists hosts in inventory order, expanding ranges and host:port keys', () => {
    expect([...inv.hosts.keys()]).toEqual([
      'bastion.example.com',
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
      'web4.example.com',
      'db1',
      'db2',
    ]);
    expect(host('web4.example.com').connection.port).toBe(2222);
  });

  it('maps groups to hosts including descendants, plus all and ungrouped', () => {
    expect([...(inv.groups.get('web') ?? [])]).toEqual(['web01.example.com', 'web02.example.com', 'web03.example.com', 'web4.example.com']);
    expect([...(inv.groups.get('canary') ?? [])]).toEqual(['web01.example.com']);
    expect([...(inv.groups.get('ungrouped') ?? [])]).toEqual(['bastion.example.com']);
    expect(inv.groups.get('all')?.size).toBe(7);
    expect(host('web01.example.com').groups).toEqual(['all', 'web', 'canary']);
    expect(host('db1').groups).toEqual(['all', 'adb', 'zdb']);
  });

  it('applies precedence all < parent < child < host', () => {
    expect(host('bastion.example.com').vars.role).toBe('all');
    expect(host('web02.example.com').vars.role).toBe('web');
    expect(host('web01.example.com').vars.role).toBe('canary');
    expect(host('web4.example.com').vars.role).toBe('host');
    expect(host('web01.example.com').vars.ntp).toBe('pool.ntp.org');
  });

  it('sibling groups at the same depth: the alphabetically later one wins', () => {
    expect(host('db1').vars.role).toBe('zdb');
    expect(host('db1').vars.tier).toBe('z');
  });

  it('a more specific Ansible alias beats a less specific native name', () => {
    // all: user=admin, web: ansible_user=www
    expect(host('web02.example.com').connection.user).toBe('www');
    expect(host('db2').connection.user).toBe('admin');
  });

  it('understands Ansible connection aliases', () => {
    expect(host('db1').connection).toEqual({
      connection: 'ssh',
      host: '10.0.0.5',
      port: 2022,
      user: 'admin',
      become: true,
      hostKeyPolicy: 'strict',
      jump: [],
      connectTimeoutMs: 10000,
      portMap: {},
    });
  });

  it('fills defaults, resolves identity files and jump hosts', () => {
    expect(host('bastion.example.com').connection).toEqual({
      connection: 'local',
      host: 'bastion.example.com',
      port: 22,
      user: 'admin',
      hostKeyPolicy: 'strict',
      jump: [],
      connectTimeoutMs: 10000,
      portMap: {},
    });
    expect(host('web4.example.com').connection.identityFile).toBe(join(fixtures, 'keys/web4'));
    expect(host('db2').connection.jump).toEqual([
      { host: 'bastion.example.com', port: 2201, user: 'ops' },
      { host: '10.1.0.1', port: 22, user: 'hop', identityFile: '/home/me/.ssh/hop' },
    ]);
    expect(inv.secrets).toEqual([]);
  });
});

describe('inventory validation errors', () => {
  it('locates schema errors in the file, with allowed values and key suggestions', () => {
    const msg = messageOf(() => loadInventory('bad.yaml', { env, cwd: fixtures }));
    expect(msg.split('\n')).toEqual([
      'bad.yaml:3:17 all.vars.connection: expected one of "ssh", "local", got "sssh" (did you mean "ssh"?)',
      'bad.yaml:6:13 all.hosts.web1.port: must be at most 65535, got 70000',
      // inventories are read as Ansible reads YAML (1.1): `yes` is true
      'bad.yaml:7:24 all.hosts.web1.host_key_policy: expected one of "strict", "accept-new", got true',
      'bad.yaml:8:3 all: unknown key "childs" (did you mean "children"? allowed: hosts, children, vars)',
    ]);
  });

  it('non-mapping inventories and missing files', () => {
    expect(messageOf(() => parseInventory('- a\n', 'l.yaml'))).toBe('l.yaml:1:1 expected mapping, got list');
    expect(messageOf(() => loadInventory('nope.yaml', { cwd: fixtures }))).toBe(
      'nope.yaml: inventory file not found (a host list needs a comma: "nope.yaml,")',
    );
  });

  it('rejects group cycles', () => {
    const text = 'all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n';
    expect(messageOf(() => parseInventory(text, 'c.yaml'))).toBe('c.yaml:5:9 all.children.a.children.b: adding group "b" as a child of "a" makes a loop of groups');
  });
});

describe('*_env secrets', () => {
  const text = [
    'all:',
    '  vars:',
    '    become_password_env: SUDO_PW',
    '  hosts:',
    '    web1:',
    '      password_env: WEB1_PW',
    '      passphrase_env: KEY_PW',
    '    web2:',
    '      password: clear',
    '',
  ].join('\n');

  it('resolves them from the injected env and collects secrets for masking', () => {
    const inv = parseInventory(text, 'inv.yaml', { env: { SUDO_PW: 's', WEB1_PW: 'p1', KEY_PW: 'k' } });
    expect(inv.hosts.get('web1')?.connection).toMatchObject({ password: 'p1', passphrase: 'k', becomePassword: 's' });
    expect(inv.hosts.get('web2')?.connection).toMatchObject({ password: 'clear', becomePassword: 's' });
    expect(inv.secrets.sort()).toEqual(['clear', 'k', 'p1', 's']);
  });

  it('names the missing variable and where it is set, once per location', () => {
    const msg = messageOf(() => parseInventory(text, 'inv.yaml', { env: { WEB1_PW: 'p1', KEY_PW: 'k' } }));
    expect(msg).toBe('inv.yaml:3:26 all.vars.become_password_env: environment variable SUDO_PW is not set (sudo password for host web1)');
  });

  it('on the same layer *_env wins over a clear-text password', () => {
    const inv = parseInventory('all:\n  hosts:\n    h: { password: a, password_env: P }\n', 'i.yaml', { env: { P: 'b' } });
    expect(inv.hosts.get('h')?.connection.password).toBe('b');
  });
});

describe('comma-list inventories', () => {
  it('parses host lists, localhost goes local', () => {
    const inv = loadInventory('web1.example.com,deploy@db1:2222,localhost,', { env, cwd: fixtures });
    expect([...inv.hosts.keys()]).toEqual(['web1.example.com', 'db1', 'localhost']);
    expect(inv.hosts.get('db1')?.connection).toMatchObject({ connection: 'ssh', host: 'db1', user: 'deploy', port: 2222 });
    expect(inv.hosts.get('localhost')?.connection.connection).toBe('local');
    expect(inv.hosts.get('web1.example.com')?.connection).toMatchObject({ connection: 'ssh', host: 'web1.example.com', port: 22 });
    expect(inv.hosts.get('web1.example.com')?.connection.user).toBeUndefined();
    expect(inv.hosts.get('web1.example.com')?.groups).toEqual(['all', 'ungrouped']);
  });

  it('accepts a single host with a trailing comma and IPv6 in brackets', () => {
    expect([...loadInventory('localhost,', { env }).hosts.keys()]).toEqual(['localhost']);
    expect(loadInventory('[::1]:2200,', { env }).hosts.get('::1')?.connection).toMatchObject({ host: '::1', port: 2200 });
  });

  it('rejects malformed entries', () => {
    expect(messageOf(() => loadInventory('a@b@c,', { env }))).toBe(
      'inventory list: invalid host "a@b@c" (expected host, host:port or user@host:port)',
    );
  });
});
