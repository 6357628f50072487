import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configWords, parseConfigLine, parseSshdFact, sshdAt, sshdFact } from '../../../src/facts/sshd.js';
import { fixture, rocky9, ubuntu2204 } from '../../fixtures/facts/sshd/fact-output.js';

const MAIN = '/etc/ssh/sshd_config';
const parse = (rel: string) => parseSshdFact(fixture(rel), MAIN);

describe('sshd fact parser (outputs recorded in the Debian images)', () => {
  it('debian 11: OpenSSH 8.4, no drop-ins, effective config, ssh -Q lists, no sshd running', () => {
    const f = parse('debian11/fact.out');
    expect(f.installed).toBe(true);
    expect(f.version).toEqual({ major: 8, minor: 4 });
    expect(f.versionText).toMatch(/^OpenSSH_8\.4p1 Debian/);
    expect(f.main.text).toBe(fixture('debian11/sshd_config'));
    expect(f.globs).toEqual({ '/etc/ssh/sshd_config.d/*.conf': [] });
    expect(f.order).toEqual([{ path: MAIN }]);
    expect(f.effective?.passwordauthentication).toEqual(['yes']);
    expect(f.effective?.port).toEqual(['22']);
    expect(f.effective?.acceptenv).toEqual(['LANG', 'LC_*']);
    expect(f.algorithms.kex).not.toContain('sntrup761x25519-sha512@openssh.com');
    expect(f.algorithms.kex).toContain('curve25519-sha256');
    expect(f.algorithms.cipher).toEqual(fixture('debian11/ssh-Q-cipher.txt').trim().split('\n'));
    expect(f.pid).toBeNull();
  });

  it('debian 12 and 13: versions and the post-quantum kex they offer', () => {
    const d12 = parse('debian12/fact.out');
    const d13 = parse('debian13/fact.out');
    expect(d12.version).toEqual({ major: 9, minor: 2 });
    expect(d13.version).toEqual({ major: 10, minor: 0 });
    expect(d12.algorithms.kex).toContain('sntrup761x25519-sha512@openssh.com');
    expect(d13.algorithms.kex).toContain('mlkem768x25519-sha256');
    expect(d12.effective).toEqual(Object.fromEntries(Object.entries(parseSshdFact(fixture('debian12/fact.out'), MAIN).effective ?? {})));
    expect(Object.keys(d12.effective ?? {})).toHaveLength(new Set(fixture('debian12/sshd-T.txt').trim().split('\n').map((l) => l.split(' ')[0])).size);
  });

  it('cloud-init drop-in: read in include order, effective PasswordAuthentication yes', () => {
    const f = parse('debian12/fact-cloud-init.out');
    expect(f.order).toEqual([
      { path: MAIN },
      { path: '/etc/ssh/sshd_config.d/50-cloud-init.conf', includedFrom: { path: MAIN, line: 12 } },
    ]);
    expect(f.files['/etc/ssh/sshd_config.d/50-cloud-init.conf']?.text).toBe('PasswordAuthentication yes\n');
    expect(f.effective?.passwordauthentication).toEqual(['yes']);
  });

  it('a broken drop-in: sshd -T fails, stderr kept, effective null', () => {
    const f = parse('debian12/fact-broken.out');
    expect(f.effective).toBeNull();
    expect(f.effectiveExit).toBe(255);
    expect(f.effectiveError).toContain('99-broken.conf: line 1: Bad configuration option: Bogus');
  });

  it('sshd running as PID 1 (container without init)', () => {
    const f = parse('debian12/fact-pid1.out');
    expect(f.pid).toBe(1);
    expect(f.pidSource).toBe('pid1');
  });

  it('hand-written Ubuntu 22.04 and Rocky 9 samples: nested Include order, listener from the pid file', () => {
    const u = parseSshdFact(ubuntu2204(), MAIN);
    expect(u.version).toEqual({ major: 8, minor: 9 });
    expect(u.pid).toBe(812);
    expect(u.pidSource).toBe('pidfile');
    const r = parseSshdFact(rocky9(), MAIN);
    expect(r.order.map((o) => o.path)).toEqual([MAIN, '/etc/ssh/sshd_config.d/50-redhat.conf', '/etc/crypto-policies/back-ends/opensshserver.config']);
    expect(r.order[2]?.includedFrom).toEqual({ path: '/etc/ssh/sshd_config.d/50-redhat.conf', line: 6 });
    expect(r.effective?.ciphers).toEqual(['aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr,aes128-gcm@openssh.com,aes128-ctr']);
  });

  it('listener found among sshd processes when there is no pid file', () => {
    const out = 'installed=1\nversion=\npid1=systemd\npidfile=\nproc=700 1\nproc=900 700\nproc=901 900\n';
    expect(parseSshdFact(out, MAIN)).toMatchObject({ pid: 700, pidSource: 'proc', version: null, effective: null, algorithms: { cipher: null, kex: null, mac: null } });
  });

  it('garbage output is a fact error', () => {
    expect(() => parseSshdFact('sh: 1: syntax error\n', MAIN, 2)).toThrow(/fact sshd: unexpected output/);
  });
});

describe('config line splitting', () => {
  it('keyword, =, quotes and trailing comments', () => {
    expect(configWords('PermitRootLogin no')).toEqual(['PermitRootLogin', 'no']);
    expect(configWords('  Port=2222')).toEqual(['Port', '2222']);
    expect(configWords('Port = 2222')).toEqual(['Port', '2222']);
    expect(configWords('Subsystem\tsftp\t/usr/lib/openssh/sftp-server')).toEqual(['Subsystem', 'sftp', '/usr/lib/openssh/sftp-server']);
    expect(configWords('AuthorizedKeysFile ".ssh/my keys" # comment')).toEqual(['AuthorizedKeysFile', '.ssh/my keys']);
    expect(parseConfigLine('#PermitRootLogin yes')).toBeNull();
    expect(parseConfigLine('   ')).toBeNull();
    expect(parseConfigLine('INCLUDE /etc/ssh/x/*.conf /etc/ssh/y')).toEqual({ key: 'include', args: ['/etc/ssh/x/*.conf', '/etc/ssh/y'] });
  });
});

describe('sshd fact command (run by /bin/sh on this machine)', () => {
  it('follows Include globs recursively in C lexical order, quotes the path, tolerates missing files', () => {
    const dir = mkdtempSync(join(tmpdir(), "sshd-fact'"));
    try {
      mkdirSync(join(dir, 'd'));
      const main = join(dir, 'main');
      writeFileSync(main, `Include ${dir}/d/*.conf\nInclude ${dir}/missing\nPort 22\n`);
      writeFileSync(join(dir, 'd', 'b.conf'), 'PasswordAuthentication yes\n');
      writeFileSync(join(dir, 'd', 'a.conf'), `Include ${dir}/nested\nUsePAM yes\n`);
      writeFileSync(join(dir, 'd', 'B.conf'), 'X11Forwarding no\n');
      writeFileSync(join(dir, 'nested'), `Include ${main}\nMaxAuthTries 3\n`); // a loop: read once
      const cmd = sshdFact.command({ path: main });
      const stdout = execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
      const f = parseSshdFact(stdout, main);
      expect(f.order.slice(0, 5).map((o) => o.path)).toEqual([main, join(dir, 'd/B.conf'), join(dir, 'd/a.conf'), join(dir, 'nested'), main]);
      expect(f.files[join(dir, 'd/b.conf')]?.text).toBe('PasswordAuthentication yes\n');
      expect(f.globs[`${dir}/missing`]).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('request id is keyed by path', () => {
    expect(sshdAt().id).toBe('sshd:/etc/ssh/sshd_config');
  });
});
