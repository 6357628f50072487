/**
 * ~/.ssh/config as OpenSSH reads it. The outside oracle is OpenSSH itself:
 * test/fixtures/ssh-config/truth.json is `ssh -G` for every name in hosts.txt
 * (regen-truth.sh), and each host's connection loaded through our inventory
 * must agree with it on address, port, user, key file, jump hosts, host-key
 * policy, IdentitiesOnly, known_hosts file and connect timeout. The unit cases
 * below cover what provision does on purpose differently (Match blocks,
 * StrictHostKeyChecking no) and how ssh settings meet inventory values.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory, parseInventory, type Inventory } from '../../../src/core/inventory.js';
import { matchHostPatterns, readSshConfig, splitSshArgs, sshConfigFor } from '../../../src/core/ssh-config.js';
import { messageOf } from './_validation.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(here, '../../fixtures/ssh-config');
const tmp = mkdtempSync(join(tmpdir(), 'provision-ssh-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface SshG {
  hostname: string;
  port: string;
  user: string;
  identityfile?: string[];
  proxyjump?: string;
  stricthostkeychecking: string;
  identitiesonly: string;
  userknownhostsfile: string;
  connecttimeout: string;
}
const truth = JSON.parse(readFileSync(join(fixtures, 'truth.json'), 'utf8')) as { home: string; hosts: Record<string, SshG> };
const HOME = truth.home;

function writeConfig(text: string, name = 'config'): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const fixtureConfig = writeConfig(readFileSync(join(fixtures, 'config.in'), 'utf8').replaceAll('@HERE@', fixtures), 'fixture-config');

describe('~/.ssh/config agrees with ssh -G', () => {
  const names = Object.keys(truth.hosts).filter((h) => !h.startsWith('bastion') && h !== 'gateway');
  const inv = loadInventory(`${names.join(',')},`, { env: { HOME }, cwd: tmp, sshConfig: fixtureConfig });
  const expand = (p: string, t: SshG): string => p.replace(/^~\//, `${HOME}/`).replace(/%h/g, t.hostname).replace(/%r/g, t.user).replace(/%%/g, '%');

  it.each(names)('%s', (name) => {
    const t = truth.hosts[name] as SshG;
    const c = inv.hosts.get(name)?.connection;
    expect(c).toBeDefined();
    if (!c) return;
    expect(c.host).toBe(t.hostname);
    expect(c.port).toBe(Number(t.port));
    expect(c.user).toBe(t.user);
    expect(c.identityFile).toBe(t.identityfile?.[0] ? expand(t.identityfile[0], t) : undefined);
    expect(c.identitiesOnly ?? false).toBe(t.identitiesonly === 'yes');
    expect(c.hostKeyPolicy).toBe(t.stricthostkeychecking === 'accept-new' ? 'accept-new' : 'strict');
    const defaultKnownHosts = `${HOME}/.ssh/known_hosts ${HOME}/.ssh/known_hosts2`;
    expect(c.knownHostsFile).toBe(t.userknownhostsfile === defaultKnownHosts ? undefined : t.userknownhostsfile.split(' ')[0]);
    expect(c.connectTimeoutMs).toBe(t.connecttimeout === 'none' ? 10_000 : Number(t.connecttimeout) * 1000);
    // every hop: written user/port, else what ssh -G says for the hop
    const hops = t.proxyjump ? t.proxyjump.split(',') : [];
    expect(c.jump.map((j) => j.host)).toEqual(hops.map((h) => h.replace(/^.*@/, '').replace(/:\d+$/, '')));
    hops.forEach((h, i) => {
      const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(h) as RegExpExecArray;
      const hop = truth.hosts[m[2] as string] as SshG;
      expect(c.jump[i]?.user).toBe(m[1] ?? hop.user);
      expect(c.jump[i]?.port).toBe(Number(m[3] ?? hop.port));
    });
  });

  it('warns once per skipped file or setting, nothing else for this config', () => {
    expect(inv.warnings.map((w) => w.message)).toEqual([
      'web1: only the first IdentityFile is used (~/.ssh/web_%h_%r); not tried: ~/.ssh/web_second, ~/.ssh/id_default',
      'web2.example.org: only the first IdentityFile is used (~/.ssh/web_%h_%r); not tried: ~/.ssh/web_second, ~/.ssh/id_default',
    ]);
  });
});

describe('ssh_config parsing', () => {
  it('splits arguments with quotes, escapes and comments like OpenSSH', () => {
    expect(splitSshArgs('a "b c" \'d e\' f\\ g # comment')).toEqual(['a', 'b c', 'd e', 'f g']);
  });

  it('matches Host patterns: *, ?, several patterns, a negation vetoes, case-insensitive', () => {
    expect(matchHostPatterns('web1', ['web*'])).toBe(true);
    expect(matchHostPatterns('WEB1', ['web?'])).toBe(true);
    expect(matchHostPatterns('web10', ['web?'])).toBe(false);
    expect(matchHostPatterns('db1', ['web*', 'db*'])).toBe(true);
    expect(matchHostPatterns('web-internal', ['web*', '!web-internal'])).toBe(false);
    expect(matchHostPatterns('x', ['!web*'])).toBe(false);
  });

  it('skips Match blocks (except Match all) with a warning naming the line', () => {
    const p = writeConfig('Match host web* exec "true"\n  User fromMatch\nMatch all\n  Port 2222\n', 'match');
    const cfg = readSshConfig(p, { home: tmp });
    expect(cfg?.warnings).toEqual([{ message: expect.stringMatching(/^Match host web\* exec true: Match blocks are not supported/), location: { file: '~/match', line: 1, column: 1 } }]);
    const got = sshConfigFor(cfg, 'web1');
    expect(got.get('user')).toBeUndefined();
    expect(got.get('port')?.[0]?.args).toEqual(['2222']);
  });

  it('Include: globs relative to ~/.ssh, in file order; inside a Host block only where it applies', () => {
    const home = join(tmp, 'home');
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', 'b.conf'), 'Host b\n  User from-b\n');
    writeFileSync(join(home, '.ssh', 'conf.d', 'a.conf'), 'Host a\n  User from-a\n');
    writeFileSync(join(home, '.ssh', 'only-web'), 'Port 2200\n');
    writeFileSync(join(home, '.ssh', 'config'), 'Include conf.d/*.conf\nHost web*\n  Include only-web\nHost *\n  Port 22\n  User default\n');
    const cfg = readSshConfig(join(home, '.ssh', 'config'), { home });
    expect(sshConfigFor(cfg, 'a').get('user')?.[0]?.args).toEqual(['from-a']);
    expect(sshConfigFor(cfg, 'b').get('user')?.[0]?.args).toEqual(['from-b']);
    expect(sshConfigFor(cfg, 'web1').get('port')?.[0]?.args).toEqual(['2200']);
    expect(sshConfigFor(cfg, 'db1').get('port')?.[0]?.args).toEqual(['22']);
    expect(sshConfigFor(cfg, 'a').get('port')?.[0]?.location).toEqual({ file: '~/.ssh/config', line: 5, column: 3 });
    // the default path is $HOME/.ssh/config from the loader's env
    expect(loadInventory('a,', { env: { HOME: home }, cwd: tmp }).hosts.get('a')?.connection.user).toBe('from-a');
  });
});

describe('ssh settings meet the inventory', () => {
  const config = writeConfig(
    [
      'Host *',
      '  User cfguser',
      '  Port 2200',
      '  IdentityFile ~/.ssh/cfgkey',
      '  ProxyJump cfgjump',
      '  HostName %h.lan',
      '  StrictHostKeyChecking accept-new',
      '  ProxyCommand ssh -W %h:%p bastion',
      '',
    ].join('\n'),
    'meet',
  );
  const load = (yaml: string, extra: Record<string, unknown> = {}): Inventory => parseInventory(yaml, 'inv.yaml', { env: { HOME: '/home/me' }, cwd: tmp, sshConfig: config, ...extra });

  it('inventory values win; ssh config fills what the inventory does not say; the address is looked up as ssh would', () => {
    const inv = load('all:\n  hosts:\n    h1: { ansible_host: web, ansible_user: invuser, ansible_port: 22, jump: admin@b1 }\n    h2:\n');
    expect(inv.hosts.get('h1')?.connection).toMatchObject({ host: 'web.lan', user: 'invuser', port: 22, identityFile: '/home/me/.ssh/cfgkey', jump: [{ host: 'b1.lan', user: 'admin', port: 2200 }], hostKeyPolicy: 'accept-new' });
    expect(inv.hosts.get('h2')?.connection).toMatchObject({ host: 'h2.lan', user: 'cfguser', port: 2200, jump: [{ host: 'cfgjump.lan', user: 'cfguser', port: 2200 }] });
    expect(inv.warnings.map((w) => w.message)).toContain('ssh config ProxyCommand ssh -W %h:%p bastion applies to web, but provision does not follow ProxyCommand (use ProxyJump)');
  });

  it('ssh arguments in the inventory come before ~/.ssh/config', () => {
    const inv = load("all:\n  hosts:\n    h1: { ansible_ssh_common_args: '-o User=argsuser -p 2300 -J j1,j2:2 -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes' }\n");
    expect(inv.hosts.get('h1')?.connection).toMatchObject({ user: 'argsuser', port: 2300, hostKeyPolicy: 'strict', identitiesOnly: true, jump: [{ host: 'j1.lan', port: 2200 }, { host: 'j2.lan', port: 2 }] });
  });

  it('StrictHostKeyChecking no in ~/.ssh/config is refused where it applies, naming the file and line', () => {
    const p = writeConfig('Host lab*\n  StrictHostKeyChecking no\n', 'insecure');
    const yaml = 'all:\n  hosts:\n    lab1:\n    prod1:\n';
    expect(messageOf(() => parseInventory(yaml, 'inv.yaml', { env: { HOME: '/home/me' }, sshConfig: p }))).toBe(
      `${p}:2:3 ssh config StrictHostKeyChecking no: provision never skips host-key checks; remove it, or set host_key_policy: accept-new in the inventory (or --host-key-policy accept-new): unknown keys are then recorded, changed keys still refused`,
    );
    // the inventory's own policy, or the run's, decides instead (with a warning)
    const inv = parseInventory('all:\n  vars: { host_key_policy: accept-new }\n  hosts:\n    lab1:\n', 'inv.yaml', { env: { HOME: '/home/me' }, sshConfig: p });
    expect(inv.hosts.get('lab1')?.connection.hostKeyPolicy).toBe('accept-new');
    expect(inv.warnings[0]?.message).toMatch(/not applied, provision never skips host-key checks \(host_key_policy: accept-new decides\)/);
    expect(parseInventory(yaml, 'inv.yaml', { env: { HOME: '/home/me' }, sshConfig: p, hostKeyPolicy: 'strict' }).warnings[0]?.message).toMatch(/--host-key-policy strict decides/);
  });
});
