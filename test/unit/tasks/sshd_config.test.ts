import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { onRollback, rollbackScript } from '../../../src/core/guard.js';
import { parseSelinuxFact, portLabel, selinux, type SelinuxFacts } from '../../../src/facts/selinux.js';
import { selinuxOutput } from '../../fixtures/facts/selinux/fact-output.js';
import { TaskError } from '../../../src/contract/errors.js';
import type { AccessInfo, Plan, TaskContext } from '../../../src/contract/task.js';
import { parseHostFacts } from '../../../src/facts/host.js';
import { parseSshdFact, sshdFact, type SshdFacts } from '../../../src/facts/sshd.js';
import { sshd_config } from '../../../src/tasks/sshd_config.js';
import { writeFileSteps } from '../../../src/tasks/lib/files.js';
import { BLOCK_BEGIN, BLOCK_END, buildCandidate, normalise, timeSeconds } from '../../../src/tasks/lib/sshd.js';
import { lockoutReason, userPatternMatches } from '../../../src/tasks/lib/sshd-lockout.js';
import { parseIptablesFact } from '../../../src/facts/iptables.js';
import { fixture, rhel8, rocky9, ubuntu2204 } from '../../fixtures/facts/sshd/fact-output.js';
import { OPT_OUT_MARK } from '../../../src/tasks/lib/sshd-crypto-policy.js';
import { ctx, fileWith } from './_helpers.js';

const MAIN = '/etc/ssh/sshd_config';
const NOTE = '# Written by provision sshd_config. sshd uses the first value it reads: keep this block above any Include and Match.';
const sshd = (rel: string): SshdFacts => parseSshdFact(fixture(rel), MAIN);
const factsOf = (f: SshdFacts, mode = '0644') => ({ sshd: f, file: fileWith(f.main.text ?? '', { mode }) });
const parse = (v: unknown) => sshd_config.schema.parse(v);
const plan = (settings: Record<string, unknown>, f: SshdFacts, c: TaskContext = ctx, extra: Record<string, unknown> = {}) =>
  sshd_config.plan(parse({ settings, ...extra }), factsOf(f, f.main.text?.startsWith(BLOCK_BEGIN) ? '0600' : '0644'), c);
const changed = (p: Plan) => {
  if (p.kind !== 'change') throw new Error(`expected a change, got ${p.kind}: ${'reason' in p ? p.reason : ''}`);
  return p;
};
const written = (p: Plan): string => changed(p).steps[0]?.stdin ?? '';
const hostWith = (os: string[], kv: string[]): TaskContext => ({
  ...ctx,
  host: parseHostFacts(['__osrelease_begin', ...os, '__osrelease_end', 'ssh_connection=10.0.0.1 50000 10.0.0.2 22', 'uid=0', 'user=root', ...kv].join('\n')),
});
const containerCtx = hostWith(['ID=debian', 'VERSION_ID="12"'], ['init=none', 'container=1', 'pm=apt-get']);
const rockyCtx = hostWith(['ID="rocky"', 'ID_LIKE="rhel centos fedora"', 'VERSION_ID="9.4"'], ['init=systemd', 'pm=dnf']);

/** The settings applied in the debian12 image to record fact-applied.out (see the report). */
const APPLIED = {
  PermitRootLogin: 'prohibit-password',
  PasswordAuthentication: false,
  X11Forwarding: false,
  KexAlgorithms: ['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group-exchange-sha256'],
  LoginGraceTime: '30s',
  MaxAuthTries: 3,
};
const BASELINE_KEX = APPLIED.KexAlgorithms;

describe('sshd_config planner: cloud-init drop-in', () => {
  it('debian 12 (recorded): effective yes -> writes PasswordAuthentication no in the top block, names the drop-in, leaves it alone', () => {
    const p = changed(plan({ PasswordAuthentication: false }, sshd('debian12/fact-cloud-init.out')));
    expect(p.summary).toContain('set PasswordAuthentication no (effective yes)');
    expect(p.summary).toContain('/etc/ssh/sshd_config.d/50-cloud-init.conf:1 sets PasswordAuthentication yes: our block is read first so it no longer applies (drop-ins left untouched)');
    const text = written(p);
    expect(text.split('\n').slice(0, 4)).toEqual([BLOCK_BEGIN, NOTE, 'PasswordAuthentication no', BLOCK_END]);
    expect(text.indexOf('PasswordAuthentication no')).toBeLessThan(text.indexOf('Include /etc/ssh/sshd_config.d/*.conf'));
    expect(p.steps.map((s) => s.command).join('\n')).not.toContain('50-cloud-init');
    expect(p.risk).toBe('access');
    expect(p.sshPort).toBeUndefined();
  });

  it('ubuntu 22.04 sample: same, reload through systemd (unit ssh, fallback sshd), after sshd -t', () => {
    const p = changed(plan({ PasswordAuthentication: 'no' }, parseSshdFact(ubuntu2204(), MAIN)));
    expect(p.summary).toContain('50-cloud-init.conf:1 sets PasswordAuthentication yes');
    expect(p.steps).toHaveLength(2);
    expect(p.steps[1]?.command).toBe(
      'PATH="$PATH:/usr/sbin:/sbin" sshd -t && if systemctl cat ssh.service >/dev/null 2>&1; then u=ssh; else u=sshd; fi && systemctl reload-or-try-restart "$u".service',
    );
  });

  it('the write is atomic, validated with sshd -t -f before the rename, 0600 root:root, dated backup; diff of the main file', () => {
    const f = sshd('debian12/fact-cloud-init.out');
    const p = changed(plan({ PasswordAuthentication: false }, f));
    const text = written(p);
    expect(p.steps[0]).toEqual(
      writeFileSteps({ path: MAIN, content: text, mode: '0600', owner: 'root', group: 'root', backup: true, validate: 'PATH="$PATH:/usr/sbin:/sbin" sshd -t -f %s' })[0],
    );
    expect(p.diffs).toEqual([{ label: MAIN, before: f.main.text, after: text }]);
    const predicted = p.predictions?.[0]?.value as SshdFacts;
    expect(predicted.effective?.passwordauthentication).toEqual(['no']);
    expect(predicted.main.text).toBe(text);
    expect(changed(plan({ PasswordAuthentication: false }, f, ctx, { backup: false })).steps[0]?.command).not.toContain('.bak');
  });
});

describe('sshd_config planner: Match blocks', () => {
  it('trailing Match block (recorded): block at the top, Match untouched, exact file', () => {
    const f = sshd('debian12/fact-match.out');
    const original = f.main.text as string;
    expect(original).toContain('Match User backup\n\tPasswordAuthentication yes\n');
    const text = written(plan({ PasswordAuthentication: false, PermitRootLogin: 'no' }, f));
    expect(text).toBe([BLOCK_BEGIN, NOTE, 'PasswordAuthentication no', 'PermitRootLogin no', BLOCK_END].join('\n') + '\n' + original);
  });

  it('global occurrences later in the main file are disabled, Match ones kept, and restored once no longer managed', () => {
    const f = sshd('debian12/fact-match.out');
    const p = changed(plan({ X11Forwarding: false, UsePAM: true }, f));
    const text = written(p);
    expect(text).toContain('\n#provision-disabled: X11Forwarding yes\n');
    expect(text).toContain('\n#provision-disabled: UsePAM yes\n');
    expect(p.summary).toContain('disable line 85 "UsePAM yes", line 90 "X11Forwarding yes" of /etc/ssh/sshd_config');
    const again = buildCandidate(text, { X11Forwarding: false }, MAIN);
    expect(again.text).toContain('\nUsePAM yes\n');
    expect(again.text).toContain('\n#provision-disabled: X11Forwarding yes\n');
    expect(again.restored).toEqual(['UsePAM yes']);
    expect(buildCandidate(again.text, { X11Forwarding: false }, MAIN).text).toBe(again.text);
  });

  it('a BEGIN marker without END is refused', () => {
    expect(() => buildCandidate(`${BLOCK_BEGIN}\nPort 22\n`, { Port: 22 }, MAIN)).toThrow(TaskError);
  });
});

describe('sshd_config planner: idempotence', () => {
  it('recorded after a real apply (drop-in and Match present): ok with the reason', () => {
    const p = plan(APPLIED, sshd('debian12/fact-applied.out'));
    expect(p).toEqual({ kind: 'ok', reason: 'effective sshd settings already as requested (6 settings, managed block in place)' });
  });

  it('effective values match but no managed block yet: still writes the block', () => {
    const p = changed(plan({ UsePAM: true, PrintMotd: false }, sshd('debian12/fact.out')));
    expect(p.summary).toMatch(/^write the managed block \(effective values already match\)/);
  });

  it('the block in place but the file is 0644: only fixes the mode', () => {
    const f = sshd('debian12/fact-applied.out');
    const p = changed(sshd_config.plan(parse({ settings: APPLIED }), factsOf(f, '0644'), ctx));
    expect(p.summary).toBe('set /etc/ssh/sshd_config to root:root 0600');
    expect(p.steps).toEqual([{ command: 'chmod 0600 /etc/ssh/sshd_config' }]);
  });

  it('normalises sshd -T forms: time units, without-password, case', () => {
    expect(timeSeconds('1m30s')).toBe(90);
    expect(timeSeconds('2h')).toBe(7200);
    expect(Number.isNaN(timeSeconds('x'))).toBe(true);
    expect(normalise('LoginGraceTime', '1m')).toBe('60');
    expect(normalise('PermitRootLogin', 'without-password')).toBe('prohibit-password');
    expect(normalise('LogLevel', 'VERBOSE')).toBe('verbose');
    expect(normalise('AllowUsers', 'Admin')).toBe('Admin');
  });

  it('sshd -T failing (broken drop-in): plans the write, says effective values are unknown', () => {
    const p = changed(plan({ PasswordAuthentication: false }, sshd('debian12/fact-broken.out')));
    expect(p.summary).toContain('sshd -T failed, effective values unknown: /etc/ssh/sshd_config.d/99-broken.conf: line 1: Bad configuration option: Bogus');
  });
});

describe('sshd_config planner: algorithm filtering', () => {
  it('OpenSSH 8.4 (debian 11) lacks sntrup761x25519: dropped and said so', () => {
    const p = changed(plan({ KexAlgorithms: BASELINE_KEX }, sshd('debian11/fact.out')));
    expect(p.summary).toContain('KexAlgorithms: dropped sntrup761x25519-sha512@openssh.com (not offered by OpenSSH 8.4)');
    expect(written(p)).toContain('\nKexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group-exchange-sha256\n');
  });

  it('OpenSSH 9.2 (debian 12) keeps it', () => {
    const p = changed(plan({ KexAlgorithms: BASELINE_KEX }, sshd('debian12/fact.out')));
    expect(p.summary).not.toContain('dropped');
    expect(written(p)).toContain(`\nKexAlgorithms ${BASELINE_KEX.join(',')}\n`);
  });

  it('a comma string is a list too; filter_algorithms false writes as given', () => {
    const p = changed(plan({ KexAlgorithms: BASELINE_KEX.join(',') }, sshd('debian11/fact.out'), ctx, { filter_algorithms: false }));
    expect(written(p)).toContain(`\nKexAlgorithms ${BASELINE_KEX.join(',')}\n`);
  });

  it('never an empty list', () => {
    expect(() => plan({ Ciphers: ['aes128-cbc-nope', 'des'] }, sshd('debian12/fact.out'))).toThrow(/none of aes128-cbc-nope,des is offered by OpenSSH 9\.2/);
  });

  it('rocky 9: our block overrides the crypto-policies include; reload unit sshd first', () => {
    const p = changed(plan({ Ciphers: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com'] }, parseSshdFact(rocky9(), MAIN), rockyCtx));
    expect(p.summary).toContain('/etc/crypto-policies/back-ends/opensshserver.config:1 sets Ciphers');
    expect(p.steps[1]?.command).toContain('if systemctl cat sshd.service >/dev/null 2>&1; then u=sshd; else u=ssh; fi');
  });
});

describe('sshd_config planner: reload, ports, accumulating options', () => {
  it('no init, sshd is PID 1 (recorded): SIGHUP after sshd -t and a comm check', () => {
    const p = changed(plan({ MaxAuthTries: 3 }, sshd('debian12/fact-pid1.out'), containerCtx));
    expect(p.steps[1]).toEqual({ command: 'PATH="$PATH:/usr/sbin:/sbin" sshd -t && [ "$(cat /proc/1/comm 2>/dev/null)" = sshd ] && kill -HUP 1 && sleep 1 && [ "$(cat /proc/1/comm 2>/dev/null)" = sshd ]' });
  });

  it('no init and no sshd running: no reload step, said so', () => {
    const p = changed(plan({ MaxAuthTries: 3 }, sshd('debian12/fact.out'), containerCtx));
    expect(p.steps).toHaveLength(1);
    expect(p.summary).toContain('sshd is not running (no init, no listener found): nothing to reload');
  });

  it('Port move: sshPort set, one line per port, not a lockout', () => {
    const p = changed(plan({ Port: 2222 }, sshd('debian12/fact.out')));
    expect(p.sshPort).toBe(2222);
    expect(p.summary).toContain('sshd moves to port 2222 (the runner reconnects on the new port)');
    const both = changed(plan({ Port: [22, 2222] }, sshd('debian12/fact.out')));
    expect(both.sshPort).toBeUndefined();
    expect(written(both)).toContain('\nPort 22\nPort 2222\n');
  });

  it('a drop-in setting an option sshd accumulates (Port) is an error naming it', () => {
    const f = sshd('debian12/fact-cloud-init.out');
    const withPort: SshdFacts = { ...f, files: { ...f.files, '/etc/ssh/sshd_config.d/50-cloud-init.conf': { path: '/etc/ssh/sshd_config.d/50-cloud-init.conf', text: 'Port 22\n' } } };
    expect(() => plan({ Port: 2222 }, withPort)).toThrow(/sshd accumulates Port .*50-cloud-init\.conf:1: Port 22/);
  });

  it('AllowUsers renders space-joined on one line', () => {
    expect(written(plan({ AllowUsers: ['admin', 'deploy@10.0.0.*'] }, sshd('debian12/fact.out')))).toContain('\nAllowUsers admin deploy@10.0.0.*\n');
  });

  it('sshd not installed: skip', () => {
    const f = { ...sshd('debian12/fact.out'), installed: false };
    expect(plan({ MaxAuthTries: 3 }, f)).toEqual({ kind: 'skip', reason: 'sshd is not installed' });
  });
});

describe('sshd_config lockout pre-flight', () => {
  const root: AccessInfo = { user: 'root', clientIp: '10.0.0.1', serverPort: 22, auth: 'publickey', keys: [] };
  const admin: AccessInfo = { ...root, user: 'admin' };
  const f = sshd('debian12/fact.out');
  const lock = (settings: Record<string, unknown>, access: AccessInfo) => sshd_config.lockout!(parse({ settings }), factsOf(f), access, ctx);

  it('a port move the current firewall drops is refused, naming the rule or policy', () => {
    // hand-made ruleset in iptables-save form: DROP policy, only 22 (and 80) open
    const save = (rules: string) =>
      parseIptablesFact(
        `__version=iptables v1.8.9 (nf_tables)\n__save_begin\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n${rules}COMMIT\n__save_rc=0\n`,
        4,
      );
    const move = (rules: string, settings: Record<string, unknown> = { Port: 2222 }) =>
      sshd_config.lockout!(parse({ settings }), { ...factsOf(f), fw4: save(rules), fw6: save('') }, admin, ctx);
    expect(move('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n')).toBe(
      'sshd would move to port 2222, but the firewall\'s filter policy DROP of INPUT and no rule accepts a new SSH connection (tcp/2222 from 10.0.0.1): open the new port in an earlier task',
    );
    expect(move('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 2222 -j ACCEPT\n')).toBeUndefined();
    // staying on 22 (also listening on 2222) is not a move
    expect(move('-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n', { Port: [22, 2222] })).toBeUndefined();
    // without a port setting the firewall is not read at all
    expect(Object.keys(sshd_config.facts(parse({ settings: { MaxAuthTries: 3 } }), ctx))).toEqual(['sshd', 'file']);
  });

  it('root login off while we are root', () => {
    expect(lock({ PermitRootLogin: 'no' }, root)).toBe('PermitRootLogin no refuses root, and this session logs in as root');
    expect(lock({ PermitRootLogin: 'no' }, admin)).toBeUndefined();
    expect(lock({ PermitRootLogin: 'prohibit-password' }, root)).toBeUndefined();
    expect(lock({ PermitRootLogin: 'prohibit-password' }, { ...root, auth: 'password' })).toMatch(/^PermitRootLogin prohibit-password refuses root with a password/);
  });

  it('password auth off while we use a password; pubkey off while we use a key or agent', () => {
    expect(lock({ PasswordAuthentication: false }, { ...admin, auth: 'password' })).toMatch(/^PasswordAuthentication no/);
    expect(lock({ PasswordAuthentication: false }, admin)).toBeUndefined();
    expect(lock({ PubkeyAuthentication: false }, { ...admin, auth: 'agent' })).toMatch(/^PubkeyAuthentication no refuses keys.*\(agent\)/);
  });

  it('AllowUsers without us, DenyUsers with us, user@host patterns and CIDR', () => {
    expect(lock({ AllowUsers: ['deploy'] }, admin)).toBe('AllowUsers deploy does not include admin (connecting from 10.0.0.1)');
    expect(lock({ AllowUsers: ['deploy', 'adm*'] }, admin)).toBeUndefined();
    expect(lock({ AllowUsers: ['admin@10.0.0.0/24'] }, admin)).toBeUndefined();
    expect(lock({ AllowUsers: ['admin@192.168.1.*'] }, admin)).toMatch(/^AllowUsers/);
    expect(lock({ DenyUsers: ['admin'] }, admin)).toBe('DenyUsers admin matches admin@10.0.0.1');
    expect(userPatternMatches('a?min@10.*', 'admin', '10.9.9.9')).toBe(true);
  });

  it('AuthenticationMethods needing two methods, MaxAuthTries 0', () => {
    expect(lock({ AuthenticationMethods: 'publickey,password' }, admin)).toMatch(/^AuthenticationMethods publickey,password needs more/);
    expect(lock({ AuthenticationMethods: 'publickey,password publickey' }, admin)).toBeUndefined();
    expect(lock({ MaxAuthTries: 0 }, admin)).toBe('MaxAuthTries 0 refuses every authentication attempt');
  });

  it('uses the current effective values for what is not managed (sshd -T), defaults without it', () => {
    expect(lockoutReason({ permitrootlogin: ['without-password'] }, { ...root, auth: 'password' })).toMatch(/prohibit-password/);
    expect(lockoutReason({}, root)).toBeUndefined();
    expect(lock({ Port: 2222 }, root)).toBeUndefined();
  });
});

describe('sshd_config arguments: hostile values', () => {
  it('a value with a newline is rejected (it would inject config lines)', () => {
    expect(() => parse({ settings: { Banner: '/etc/issue.net\nPermitRootLogin yes' } })).toThrow(/must not contain newlines/);
    expect(() => parse({ settings: { AllowUsers: ['admin\nPermitRootLogin yes'] } })).toThrow();
    expect(() => parse({ settings: { Banner: 'x\r' } })).toThrow();
  });

  it('keywords are letters and digits; Match and Include refused; no case-duplicates; no empty', () => {
    expect(() => parse({ settings: { 'PermitRootLogin yes\nX': 'no' } })).toThrow(/letters and digits/);
    expect(() => parse({ settings: { Match: 'User x' } })).toThrow(/Match and Include/);
    expect(() => parse({ settings: { include: '/tmp/x' } })).toThrow(/Match and Include/);
    expect(() => parse({ settings: { Port: 22, port: 2222 } })).toThrow(/appears twice/);
    expect(() => parse({ settings: {} })).toThrow(/at least one/);
    expect(() => parse({ settings: { Ciphers: [] } })).toThrow();
    expect(() => parse({ settings: { Ciphers: ['aes128-ctr,des'] } })).toThrow(/list items/);
    expect(() => parse({ settings: { X: 'a' }, path: 'relative' })).toThrow(/absolute/);
  });

  it("shell metacharacters only ever reach the file (stdin), the path is quoted", () => {
    const p = changed(
      sshd_config.plan(
        parse({ settings: { Banner: "/etc/issue.net'$(reboot)`id`" }, path: "/etc/ssh/sshd config'x" }),
        { sshd: { ...sshd('debian12/fact.out'), main: { path: "/etc/ssh/sshd config'x", text: 'Port 22\n' } }, file: fileWith('Port 22\n') },
        ctx,
      ),
    );
    expect(p.steps[0]?.command).not.toContain('reboot');
    expect(p.steps[0]?.command).toContain("'/etc/ssh/sshd config'\\''x'");
    expect(written(p)).toContain("Banner /etc/issue.net'$(reboot)`id`\n");
  });
});

describe('sshd_config planner: options newer than the host OpenSSH', () => {
  it('DisableForwarding is written on OpenSSH 9.2, left out with a note on 7.2, kept when the version is unknown', () => {
    const f = sshd('debian12/fact.out');
    expect(written(plan({ DisableForwarding: true }, f))).toContain('\nDisableForwarding yes\n');
    const old = { ...f, version: { major: 7, minor: 2 } };
    const p = changed(plan({ DisableForwarding: true, X11Forwarding: false }, old));
    expect(p.summary).toContain('DisableForwarding left out: it needs OpenSSH 7.4, this host has 7.2');
    expect(written(p)).not.toContain('DisableForwarding');
    expect(written(p)).toContain('\nX11Forwarding no\n');
    expect(written(plan({ DisableForwarding: true }, { ...f, version: null }))).toContain('\nDisableForwarding yes\n');
  });
});

describe('sshd_config planner: socket-activated sshd (ssh.socket)', () => {
  // recorded on debian12-systemd after `systemctl disable --now ssh.service; systemctl enable --now ssh.socket`
  const sock = sshd('debian12/fact-socket.out');
  const RELOAD = 'PATH="$PATH:/usr/sbin:/sbin" sshd -t && systemctl daemon-reload && systemctl stop ssh.service && systemctl restart ssh.socket';
  const DROPIN = '/etc/systemd/system/ssh.socket.d/provision-listen.conf';

  it('the fact names the socket and where it listens', () => {
    expect(sock.socket).toEqual({ unit: 'ssh.socket', listen: ['[::]:22 (Stream)'] });
    expect(sshd('debian12/fact.out').socket).toBeNull();
  });

  it('a port move writes sshd_config and a drop-in moving the socket, then restarts the socket; the runner reconnects on the new port', () => {
    const p = changed(plan({ Port: 2222 }, sock));
    expect(p.sshPort).toBe(2222);
    expect(p.summary).toContain('; sshd is socket-activated: ssh.socket moves to port 2222 (/etc/systemd/system/ssh.socket.d/provision-listen.conf)');
    expect(p.steps).toHaveLength(4);
    expect(p.steps[0]!.stdin).toContain('Port 2222');
    expect(p.steps[1]!.command).toContain(`'rm -f -- ${DROPIN}'`);
    expect(p.steps[2]!.command).toContain(`mv -f -- "$tmp" ${DROPIN}`);
    expect(p.steps[2]!.stdin).toBe('# Managed by provision (sshd_config Port): sshd is socket-activated, so the socket decides its ports\n[Socket]\nListenStream=\nListenStream=2222\n');
    expect(p.steps[3]!.command).toBe(RELOAD);
    // the next run, on the host as predicted: nothing to do
    const next = p.predictions!.find((x) => x.request.id.startsWith('sshd:'))!.value as SshdFacts;
    expect(next.socket).toEqual({ unit: 'ssh.socket', listen: ['[::]:2222 (Stream)'] });
    expect(plan({ Port: 2222 }, next).kind).toBe('ok');
  });

  it('Port already in sshd_config but the socket still on 22 (Ubuntu after an edit without daemon-reload): only the socket moves', () => {
    const first = changed(plan({ Port: 2222 }, sock));
    const edited = { ...(first.predictions!.find((x) => x.request.id.startsWith('sshd:'))!.value as SshdFacts), socket: sock.socket };
    const p = changed(plan({ Port: 2222 }, edited));
    expect(p.summary).toMatch(/^\/etc\/ssh\/sshd_config already as requested; sshd moves to port 2222 \(the runner reconnects on the new port\); sshd is socket-activated: ssh\.socket moves to port 2222/);
    expect(p.diffs).toEqual([]);
    expect(p.steps.map((s) => s.command.includes(DROPIN) || s.command === RELOAD)).toEqual([true, true, true]);
    expect(p.sshPort).toBe(2222);
  });

  it('settings that do not move it reload as usual; ListenAddress is refused, naming the socket', () => {
    const p = changed(plan({ PermitRootLogin: 'no' }, sock));
    expect(p.steps.at(-1)!.command).toContain('systemctl reload-or-try-restart "$u".service');
    expect(p.steps.some((s) => s.command.includes(DROPIN))).toBe(false);
    expect(() => plan({ ListenAddress: '0.0.0.0:2222' }, sock)).toThrow(
      'sshd is socket-activated (ssh.socket): ListenAddress in sshd_config is not where it listens, and is not carried to the socket; manage Port only, or set ListenStream in a drop-in of ssh.socket',
    );
  });
});

describe('sshd_config: Match blocks that apply to this session (sshd -T -C)', () => {
  // recorded in the debian12 image: `Match User root Address 172.17.0.0/16` setting
  // PasswordAuthentication no and MaxAuthTries 2 appended to the stock sshd_config,
  // the fact run with the session root from 172.17.0.1 to 172.17.0.5:22
  const f = sshd('debian12/fact-match-session.out');
  const session = { clientIp: '172.17.0.1', clientPort: 50000, serverIp: '172.17.0.5', serverPort: 22 };
  const here: TaskContext = { ...ctx, host: { ...ctx.host, user: 'root', ssh: session } };

  it('the fact reads the session view beside the global one, for the session the host facts script names', () => {
    expect(f.effective?.passwordauthentication).toEqual(['yes']);
    expect(f.session?.passwordauthentication).toEqual(['no']);
    expect(f.session?.maxauthtries).toEqual(['2']);
    const req = sshd_config.facts(parse({ settings: { MaxAuthTries: 3 } }), here).sshd;
    // the same request whatever the host facts say, so it can be read in their round trip
    expect(req.id).toBe('sshd:/etc/ssh/sshd_config session');
    expect(sshd_config.facts(parse({ settings: { MaxAuthTries: 3 } }), ctx).sshd.id).toBe(req.id);
    const args = { path: MAIN, session: true };
    expect(req.args).toEqual(args);
    expect(sshdFact.command(args)).toContain('[ -n "$__pv_sess" ] && C=$("$S" -T -f "$cfg" -C "$__pv_sess" 2>/dev/null)');
    // without the session (a local connection, or another task's read) no -C run
    expect(parseSshdFact(fixture('debian12/fact-match.out'), MAIN).session).toBeNull();
  });

  it('the planner names the managed options a Match block overrides for us, and predicts both views', () => {
    const p = changed(plan({ PasswordAuthentication: true, MaxAuthTries: 3 }, f, here));
    expect(p.summary).toContain(
      '; a Match block sets PasswordAuthentication no, MaxAuthTries 2 for this session (root from 172.17.0.1): the global value does not apply to it (Match blocks are left untouched)',
    );
    const [withSession, plain] = (p.predictions ?? []).map((x) => x.value as SshdFacts);
    expect(withSession?.effective?.maxauthtries).toEqual(['3']);
    expect(withSession?.session?.maxauthtries).toEqual(['2']);
    expect(withSession?.session?.passwordauthentication).toEqual(['no']);
    expect(plain?.session).toBeNull();
    // an option no Match block touches draws no note
    expect(changed(plan({ X11Forwarding: false }, f, here)).summary).not.toContain('Match block');
  });

  it('the lockout pre-flight judges the session view: a password login as root stays refused by the Match block', () => {
    const access: AccessInfo = { user: 'root', clientIp: '172.17.0.1', serverPort: 22, auth: 'password', keys: [] };
    const lock = (facts: SshdFacts) => sshd_config.lockout!(parse({ settings: { PasswordAuthentication: true, PermitRootLogin: 'yes' } }), factsOf(facts), access, here);
    expect(lock(f)).toMatch(/^PasswordAuthentication no/);
    expect(lock({ ...f, session: null })).toBeUndefined();
  });
});

describe('sshd_config: SELinux port labels for a port move', () => {
  const f = sshd('debian12/fact.out');
  const enforcing = parseSelinuxFact(selinuxOutput('1'));
  const movePlan = (port: number | number[], sel: SelinuxFacts) => sshd_config.plan(parse({ settings: { Port: port } }), { ...factsOf(f), selinux: sel }, rockyCtx);
  const PATH = 'PATH="$PATH:/usr/sbin:/sbin"';

  it('an unlabelled port (2222: only in the unreserved range) is labelled first, with -a, and the rollback deletes it', () => {
    const p = changed(movePlan(2222, enforcing));
    expect(p.steps[0]?.command).toBe(`${PATH}; semanage port -a -t ssh_port_t -p tcp 2222 && ${onRollback(`${PATH}; semanage port -d -p tcp 2222`)}`);
    expect(p.steps[1]?.command).toContain('sshd_config');
    expect(p.summary).toContain('; label tcp/2222 ssh_port_t for SELinux (enforcing) before sshd moves there');
    const after = p.predictions?.find((x) => x.request.id === selinux().id)?.value as SelinuxFacts;
    expect(portLabel(after, 2222).ssh).toBe(true);
    expect(p.risk).toBe('access');
  });

  it('a port that is an exact entry of another type (8080, http_cache_port_t) is modified with -m; a local one gets its type back on rollback', () => {
    expect(changed(movePlan(8080, enforcing)).steps[0]?.command).toBe(
      `${PATH}; semanage port -m -t ssh_port_t -p tcp 8080 && ${onRollback(`${PATH}; semanage port -d -p tcp 8080`)}`,
    );
    // hand-made: an administrator's local label on 8080
    const local: SelinuxFacts = { ...enforcing, local: [...enforcing.local, { type: 'http_cache_port_t', proto: 'tcp', ports: ['8080'] }] };
    expect(changed(movePlan(8080, local)).steps[0]?.command).toContain(onRollback(`${PATH}; semanage port -m -t http_cache_port_t -p tcp 8080`));
  });

  it('ports ssh_port_t already covers (22; 8991 and 8008, local) need nothing', () => {
    for (const port of [[22], [8991], [22, 8008]]) expect(changed(movePlan(port, enforcing)).steps.map((s) => s.command).join('\n')).not.toContain('semanage');
    expect(changed(movePlan(8991, enforcing)).summary).not.toContain('SELinux');
  });

  it('enforcing without semanage is refused naming the package; permissive is noted; disabled does nothing', () => {
    const bare = (mode: SelinuxFacts['mode']): SelinuxFacts => ({ mode, semanage: false, labels: [], local: [] });
    expect(() => movePlan(2222, bare('enforcing'))).toThrow(
      'SELinux is enforcing and tcp/2222 is not labelled ssh_port_t, so sshd could not bind it; semanage is not installed: install policycoreutils-python-utils (policycoreutils-python on EL7) in an earlier task',
    );
    const permissive = changed(movePlan(2222, bare('permissive')));
    expect(permissive.summary).toContain('; SELinux is permissive and tcp/2222 is not labelled ssh_port_t (semanage missing: install policycoreutils-python-utils');
    expect(permissive.steps.map((s) => s.command).join('\n')).not.toContain('semanage');
    const disabled = changed(movePlan(2222, bare('disabled')));
    expect(disabled.summary).not.toContain('SELinux');
  });

  it('the label alone is a change when sshd_config is already as requested', () => {
    const moved = changed(movePlan(2222, enforcing)).steps.find((s) => s.stdin !== undefined)?.stdin ?? '';
    const already: SshdFacts = { ...f, main: { path: MAIN, text: moved }, files: { ...f.files, [MAIN]: { path: MAIN, text: moved } }, effective: { ...f.effective, port: ['2222'] } };
    const p = changed(sshd_config.plan(parse({ settings: { Port: 2222 } }), { sshd: already, file: fileWith(moved, { mode: '0600' }), selinux: enforcing }, rockyCtx));
    // labelled, then sshd reloaded (it binds the port it could not before)
    expect(p.steps.map((s) => s.command)).toEqual([expect.stringContaining('semanage port -a -t ssh_port_t -p tcp 2222'), expect.stringContaining('sshd -t && ')]);
    const labelled = parseSelinuxFact(selinuxOutput('1').replace('ssh_port_t                     tcp      8008, 8991, 22', 'ssh_port_t                     tcp      2222, 8008, 8991, 22'));
    expect(sshd_config.plan(parse({ settings: { Port: 2222 } }), { sshd: already, file: fileWith(moved, { mode: '0600' }), selinux: labelled }, rockyCtx).kind).toBe('ok');
  });

  it('rollback sequence: the steps label (in order), the armed rollback deletes the labels last first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'selinux-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'semanage'), `#!/bin/sh\necho "$*" >> ${dir}/log\n`, { mode: 0o755 });
      const p = changed(movePlan([2222, 8080], enforcing));
      const labelSteps = p.steps.filter((s) => s.command.includes('semanage'));
      const sh = (script: string) => execFileSync('/bin/sh', ['-c', `PATH=${bin}:$PATH; ${script}`], { encoding: 'utf8' });
      for (const s of labelSteps) sh(`PROVISION_ROLLBACK_DIR=${dir}; ${s.command}`);
      const undo = rollbackScript('id', 'label').split('\n').find((l) => l.includes('"$D/undo"'))!;
      sh(`D=${dir}; ${undo}`);
      expect(readFileSync(join(dir, 'log'), 'utf8').split('\n').filter(Boolean)).toEqual([
        'port -a -t ssh_port_t -p tcp 2222',
        'port -m -t ssh_port_t -p tcp 8080',
        'port -d -p tcp 8080',
        'port -d -p tcp 2222',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("sshd_config: RHEL 8's crypto policy on sshd's command line", () => {
  // the policy back end and /etc/sysconfig/sshd captured (SOURCES.md), the sshd pieces hand-written
  const f = parseSshdFact(rhel8(), MAIN);
  const CIPHERS = ['aes256-gcm@openssh.com', 'aes128-gcm@openssh.com'];

  it('the fact lays the policy over sshd -T (which does not see it); opted out, or sshd not under systemd: none', () => {
    expect(f.cryptoPolicy?.source).toBe('/etc/crypto-policies/back-ends/opensshserver.config');
    expect(f.cryptoPolicy?.options.ciphers).toEqual(['aes256-gcm@openssh.com,3des-cbc']);
    expect(f.effective?.ciphers).toEqual(['aes256-gcm@openssh.com,3des-cbc']);
    expect(f.effective?.pubkeyacceptedkeytypes?.[0]).toMatch(/^ssh-rsa,/);
    const out = parseSshdFact(rhel8('sysconfig-sshd-opted-out'), MAIN);
    expect(out.cryptoPolicy).toBeNull();
    expect(out.effective?.ciphers?.[0]).toMatch(/^aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,/);
    expect(parseSshdFact(rhel8('sysconfig-sshd', 'sshd'), MAIN).cryptoPolicy).toBeNull();
  });

  it('Ciphers as sshd -T reports but overridden by the policy is not ok: opt out with CRYPTO_POLICY=, then restart sshd', () => {
    const p = changed(plan({ Ciphers: CIPHERS }, f, rockyCtx));
    expect(p.summary).toMatch(/^set Ciphers aes256-gcm@openssh.com,aes128-gcm@openssh.com \(effective aes256-gcm@openssh.com,3des-cbc\)/);
    expect(p.summary).toContain(
      "; the crypto policy (CRYPTO_POLICY of /etc/crypto-policies/back-ends/opensshserver.config, on sshd's command line) overrides Ciphers: opt sshd out of it with CRYPTO_POLICY= in /etc/sysconfig/sshd and restart sshd (the policy's macs, gssapikexalgorithms, kexalgorithms, hostkeyalgorithms, pubkeyacceptedkeytypes fall back to OpenSSH's defaults)",
    );
    const cmds = p.steps.map((s) => s.command);
    expect(cmds[1]).toBe(`printf '%s\\n' '${OPT_OUT_MARK}' 'CRYPTO_POLICY=' >> /etc/sysconfig/sshd && ${onRollback(`sed -i '/^${OPT_OUT_MARK}$/,+1d' /etc/sysconfig/sshd && systemctl restart sshd.service`)}`);
    expect(cmds[2]).toMatch(/systemctl restart "\$u"\.service$/);
    expect((p.predictions?.[0]?.value as SshdFacts).cryptoPolicy).toBeNull();
    // options the policy does not set: no opt-out, a reload
    const other = changed(plan({ PermitRootLogin: 'no' }, f, rockyCtx));
    expect(other.summary).not.toContain('crypto policy');
    expect(other.steps.at(-1)?.command).toMatch(/reload-or-try-restart/);
  });

  it('the block in place and opted out: ok; the block in place but the policy back: the opt-out alone', () => {
    const p = changed(plan({ Ciphers: CIPHERS }, f, rockyCtx));
    const text = p.steps[0]?.stdin ?? '';
    const applied = (fact: string): SshdFacts => {
      const g = parseSshdFact(fact, MAIN);
      const eff = { ...g.effective, ciphers: [CIPHERS.join(',')] };
      return { ...g, main: { path: MAIN, text }, files: { ...g.files, [MAIN]: { path: MAIN, text } }, effective: g.cryptoPolicy ? { ...eff, ...g.cryptoPolicy.options } : eff };
    };
    const again = (g: SshdFacts) => sshd_config.plan(parse({ settings: { Ciphers: CIPHERS } }), { sshd: g, file: fileWith(text, { mode: '0600' }) }, rockyCtx);
    expect(again(applied(rhel8('sysconfig-sshd-opted-out'))).kind).toBe('ok');
    expect(changed(again(applied(rhel8()))).steps.map((s) => s.command)).toEqual([expect.stringContaining("'CRYPTO_POLICY=' >> /etc/sysconfig/sshd"), expect.stringMatching(/systemctl restart/)]);
  });

  it('rollback sequence: the opt-out appended, then undone by the armed rollback to the exact file, and sshd restarted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'crypto-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "systemctl $*" >> ${dir}/log\n`, { mode: 0o755 });
      const sysconfig = join(dir, 'sysconfig-sshd');
      writeFileSync(sysconfig, fixture('../rhel8/sysconfig-sshd'));
      const step = changed(plan({ Ciphers: CIPHERS }, f, rockyCtx)).steps[1]!.command.replaceAll('/etc/sysconfig/sshd', sysconfig);
      const sh = (script: string) => execFileSync('/bin/sh', ['-c', `PATH=${bin}:$PATH; ${script}`], { encoding: 'utf8' });
      sh(`PROVISION_ROLLBACK_DIR=${dir}; ${step}`);
      expect(readFileSync(sysconfig, 'utf8')).toBe(`${fixture('../rhel8/sysconfig-sshd')}${OPT_OUT_MARK}\nCRYPTO_POLICY=\n`);
      const undo = rollbackScript('id', 'label').split('\n').find((l) => l.includes('"$D/undo"'))!;
      sh(`D=${dir}; ${undo}`);
      expect(readFileSync(sysconfig, 'utf8')).toBe(fixture('../rhel8/sysconfig-sshd'));
      expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('systemctl restart sshd.service\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
