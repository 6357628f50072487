import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hostFacts, parseHostFacts, sessionSpecOf, SHELL_VARS } from '../../../src/facts/host.js';

const osRelease = (name: string) => readFileSync(new URL(`../../fixtures/os-release/${name}`, import.meta.url), 'utf8');

function gathered(os: string, rest: string): string {
  return `__osrelease_begin\n${os}\n__osrelease_end\n${rest}`;
}

describe('host facts parser', () => {
  it.each([
    ['debian11', 'debian', 'debian', '11', 11],
    ['debian12', 'debian', 'debian', '12', 12],
    ['debian13', 'debian', 'debian', '13', 13],
    ['ubuntu2204', 'ubuntu', 'debian', '22.04', 22],
    ['ubuntu2404', 'ubuntu', 'debian', '24.04', 24],
    ['rocky9', 'rocky', 'rhel', '9.4', 9],
    ['centos7', 'centos', 'rhel', '7', 7],
  ])('%s: id %s, family %s, version %s', (file, id, family, versionId, major) => {
    const f = parseHostFacts(gathered(osRelease(file), 'uid=0\nuser=root\ninit=none\npm=apt-get\n'));
    expect(f.os).toMatchObject({ id, family, versionId, major });
  });

  it('reads privileges, init, package manager and container markers', () => {
    const f = parseHostFacts(
      gathered(osRelease('rocky9'), 'uid=1000\nuser=deploy\nhostname=web1\narch=x86_64\nkernel=6.1.0\ninit=systemd\npm=dnf\nsudo=1\ncontainer=1\n'),
    );
    expect(f).toMatchObject({ uid: 1000, user: 'deploy', hostname: 'web1', init: 'systemd', packageManager: 'dnf', sudo: true, sudoNoPassword: false, container: true });
  });

  it('is honest about a host it does not know', () => {
    const f = parseHostFacts('uid=0\nuser=root\n');
    expect(f.os.family).toBe('unknown');
    expect(f.packageManager).toBe('none');
    expect(f.init).toBe('none');
  });
});

describe('SSH_CONNECTION', () => {
  it('tells how this session reached the host', () => {
    const f = parseHostFacts(gathered('ID=debian', 'ssh_connection=172.17.0.1 51234 172.17.0.2 22\n'));
    expect(f.ssh).toEqual({ clientIp: '172.17.0.1', clientPort: 51234, serverIp: '172.17.0.2', serverPort: 22 });
    expect(parseHostFacts(gathered('ID=debian', 'ssh_connection=\n')).ssh).toBeNull();
  });
});

describe('the session sshd -T -C is asked about', () => {
  // the script run for real by /bin/sh (dash here, as on Debian hosts), with the session variable printed after it
  const run = (sshConnection: string | undefined) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    if (sshConnection !== undefined) env.SSH_CONNECTION = sshConnection;
    const r = spawnSync('/bin/sh', ['-c', `${hostFacts.command(null)}\nprintf 'sess=[%s]\\n' "$${SHELL_VARS.session}"`], { env, encoding: 'utf8' });
    const shell = /^sess=\[(.*)\]$/m.exec(r.stdout)?.[1];
    return { shell, ts: sessionSpecOf(parseHostFacts(r.stdout)) };
  };

  it.each([
    ['IPv4', '172.17.0.1 51234 172.17.0.5 22'],
    ['IPv6', '2001:db8::1 40022 2001:db8::5 2222'],
  ])('%s: the shell computes what the parsed facts give', (_, conn) => {
    const { shell, ts } = run(conn);
    expect(shell).toBe(ts);
    expect(shell).toMatch(/^user=[^,]+,host=(\S+),addr=\1,laddr=\S+,lport=(22|2222)$/);
  });

  it('is empty on a local connection or a malformed SSH_CONNECTION', () => {
    expect(run(undefined)).toEqual({ shell: '', ts: '' });
    expect(run('172.17.0.1 51234')).toEqual({ shell: '', ts: '' });
  });
});

describe('the login user, read without forking id', () => {
  // the script run for real by /bin/sh; `as` runs it under another uid (setpriv, as root)
  const gather = (env: NodeJS.ProcessEnv, as?: number) => {
    const argv = ['-c', hostFacts.command(null)];
    const r = as === undefined ? spawnSync('/bin/sh', argv, { env, encoding: 'utf8' }) : spawnSync('/usr/bin/setpriv', [`--reuid=${as}`, '--clear-groups', '/bin/sh', ...argv], { env, encoding: 'utf8' });
    return parseHostFacts(r.stdout);
  };
  const id = (flag: string) => spawnSync('id', [flag], { encoding: 'utf8' }).stdout.trim();
  const root = process.getuid?.() === 0;

  it('reads the uid from /proc and its name from /etc/passwd: the same as id says, with no id on the PATH', () => {
    expect(gather({ PATH: process.env.PATH })).toMatchObject({ uid: Number(id('-u')), user: id('-un') });
    expect(gather({ PATH: '/nonexistent' })).toMatchObject({ uid: Number(id('-u')), user: id('-un') });
  });

  it.skipIf(!root || !existsSync('/usr/bin/setpriv'))('asks id for a user /etc/passwd does not hold (LDAP, sssd), and gives the uid as the name when it has none', () => {
    expect(gather({ PATH: process.env.PATH }, 65534)).toMatchObject({ uid: 65534, user: 'nobody' });
    expect(gather({ PATH: process.env.PATH }, 54321)).toMatchObject({ uid: 54321, user: '54321' });
    // without id either, the uid from /proc stands for the name: not taken for another user
    expect(gather({ PATH: '/nonexistent' }, 54321)).toMatchObject({ uid: 54321, user: '54321' });
  });
});
