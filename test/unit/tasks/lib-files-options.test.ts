/**
 * The shared atomic write's options beyond a plain file (see lib-files.test.ts):
 * a file in a user's home (authorized_keys), content generated on the host
 * (iptables-save, an awk edit), a parent directory made or managed, and the
 * temporary-file name with its stale-file cleanup. Scripts run in a real /bin/sh.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Step } from '../../../src/contract/task.js';
import { STALE_TEMP_MINUTES, TEMP_GLOB, TEMP_MARK, staleTempCleanup, tempName, writeFileSteps } from '../../../src/tasks/lib/files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'provision-write-opts-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = (step: Step, env: Record<string, string> = {}) =>
  spawnSync('/bin/sh', ['-c', step.command], { input: step.stdin ?? '', encoding: 'utf8', env: { ...process.env, ...env } });
const modeOf = (p: string): number => statSync(p).mode & 0o7777;
const temps = (d: string): string[] => readdirSync(d).filter((f) => f.includes(TEMP_MARK));

describe('temporary file names', () => {
  it('.<basename>.provision-XXXXXX beside the target, short enough for NAME_MAX', () => {
    expect(tempName('sshd_config')).toBe('.sshd_config.provision-XXXXXX');
    expect(TEMP_GLOB).toBe('.*.provision-??????');
    const long = tempName('é'.repeat(200));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(255);
    expect(long.endsWith('.provision-XXXXXX')).toBe(true);
    expect(writeFileSteps({ path: '/etc/iptables/rules.v4', generate: 'iptables-save' })[0]?.command).toContain('mktemp /etc/iptables/.rules.v4.provision-XXXXXX');
  });
});

describe('home: a file in a user\'s home, looked up when the step runs', () => {
  const me = userInfo().username;
  let home: string;
  let env: Record<string, string>;
  beforeEach(() => {
    home = join(dir, 'home');
    mkdirSync(home);
    // getent passwd NAME: the test user lives in the temporary home
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'getent'), `#!/bin/sh\n[ "$2" = ${me} ] && printf '%s:x:1:1::%s:/bin/sh\\n' "$2" "$FAKE_HOME"\n`, { mode: 0o755 });
    env = { PATH: `${bin}:${process.env.PATH}`, FAKE_HOME: home };
  });
  const keys = (content: string, user = me): Step =>
    writeFileSteps({ home: user, path: '.ssh/authorized_keys', content, mode: '0600', parent: { mode: '0700' } })[0] as Step;

  it('makes ~/.ssh 0700 and writes the file 0600, owned by the user; no temp file left', () => {
    const r = run(keys('ssh-ed25519 AAAA me\n'), env);
    expect(r.status, r.stderr).toBe(0);
    const ssh = join(home, '.ssh');
    expect(readFileSync(join(ssh, 'authorized_keys'), 'utf8')).toBe('ssh-ed25519 AAAA me\n');
    expect(modeOf(ssh)).toBe(0o700);
    expect(modeOf(join(ssh, 'authorized_keys'))).toBe(0o600);
    expect(statSync(join(ssh, 'authorized_keys')).uid).toBe(userInfo().uid);
    expect(temps(ssh)).toEqual([]);
    expect(keys('x\n').command).toContain('mktemp "$d"/.authorized_keys.provision-XXXXXX');
  });

  it('an existing ~/.ssh gets its mode back', () => {
    mkdirSync(join(home, '.ssh'), { mode: 0o755 });
    chmodSync(join(home, '.ssh'), 0o755);
    expect(run(keys('k\n'), env).status).toBe(0);
    expect(modeOf(join(home, '.ssh'))).toBe(0o700);
  });

  it('refuses a symlinked ~/.ssh and writes nothing through it', () => {
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(home, '.ssh'));
    const r = run(keys('k\n'), env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is a symbolic link: refusing to write through it');
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('fails clearly when the user has no home', () => {
    const r = run(keys('k\n', 'nobody-here'), env);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('home directory of nobody-here does not exist (): cannot write authorized_keys');
    expect(existsSync(join(home, '.ssh'))).toBe(false);
  });

  it('refuses owner/group (the home user owns it) and paths leaving the home', () => {
    expect(() => writeFileSteps({ home: 'a', path: '.ssh/x', content: '', owner: 'root' })).toThrow(/belongs to a/);
    expect(() => writeFileSteps({ home: 'a', path: '.ssh/x', content: '', parent: { group: 'root' } })).toThrow(/belongs to a/);
    for (const bad of ['../x', '/etc/x', '.ssh/', '', 'a/./b']) expect(() => writeFileSteps({ home: 'a', path: bad, content: '' })).toThrow(/invalid path in the home of a/);
  });
});

describe('generate: content produced on the host when the step runs', () => {
  it('writes the output, keeps the existing mode, sends nothing on stdin', () => {
    const p = join(dir, 'rules.v4');
    writeFileSync(p, 'old\n');
    chmodSync(p, 0o640);
    const [step] = writeFileSteps({ path: p, generate: `printf '%s\\n' '*filter' COMMIT`, backup: true, validate: 'grep -q COMMIT %s' });
    expect(step?.stdin).toBeUndefined();
    expect(step?.command).not.toContain('wc -c');
    const r = run(step as Step);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(p, 'utf8')).toBe('*filter\nCOMMIT\n');
    expect(modeOf(p)).toBe(0o640);
    expect(readdirSync(dir).filter((f) => f.endsWith('.bak'))).toHaveLength(1);
    expect(temps(dir)).toEqual([]);
  });

  it('a failing command or validation leaves the old file and no temp file', () => {
    const p = join(dir, 'conf');
    writeFileSync(p, 'old\n');
    expect(run(writeFileSteps({ path: p, generate: `sh -c 'echo partial; exit 3'` })[0] as Step).status).toBe(1);
    const v = run(writeFileSteps({ path: p, generate: 'echo new', validate: 'grep -q never %s' })[0] as Step);
    expect(v.status).toBe(1);
    expect(v.stderr).toContain('validation failed');
    expect(readFileSync(p, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['conf']);
  });
});

describe('parent: the directory made when missing', () => {
  it('plain: mkdir -p, an existing directory is left as it is', () => {
    const p = join(dir, 'a', 'b', 'f');
    expect(run(writeFileSteps({ path: p, content: 'x\n', parent: {} })[0] as Step).status).toBe(0);
    expect(readFileSync(p, 'utf8')).toBe('x\n');
    chmodSync(join(dir, 'a', 'b'), 0o751);
    expect(run(writeFileSteps({ path: p, content: 'y\n', parent: {} })[0] as Step).status).toBe(0);
    expect(modeOf(join(dir, 'a', 'b'))).toBe(0o751);
  });

  it('managed (mode given): made with the mode, an existing one gets it back, a symlink is refused', () => {
    const d = join(dir, 'conf.d');
    const step = writeFileSteps({ path: join(d, 'f'), content: 'x\n', parent: { mode: '0750' } })[0] as Step;
    expect(run(step).status).toBe(0);
    expect(modeOf(d)).toBe(0o750);
    chmodSync(d, 0o777);
    expect(run(step).status).toBe(0);
    expect(modeOf(d)).toBe(0o750);
    const link = join(dir, 'link.d');
    symlinkSync(d, link);
    const r = run(writeFileSteps({ path: join(link, 'g'), content: 'x\n', parent: { mode: '0750' } })[0] as Step);
    expect(r.status).toBe(1);
    expect(existsSync(join(d, 'g'))).toBe(false);
  });

  it('without parent a missing directory still fails', () => {
    expect(run(writeFileSteps({ path: join(dir, 'nope', 'f'), content: 'x' })[0] as Step).status).toBe(1);
  });
});

describe('staleTempCleanup: temporary files a killed write left behind', () => {
  const age = (p: string, minutes: number) => {
    const t = Date.now() / 1000 - minutes * 60;
    utimesSync(p, t, t);
  };

  it('removes only this target\'s temporary files older than N minutes (run by /bin/sh)', () => {
    const target = join(dir, 'a*b c');
    const files: Record<string, number> = {
      'a*b c': 120, // the target itself
      '.a*b c.provision-Ab12Cd': 120, // stale: removed
      '.a*b c.provision-Zz99Yy': 5, // young: a write may still be running
      '.aXXb c.provision-Ab12Cd': 120, // another target (the * is literal)
      '.other.provision-Ab12Cd': 120,
      '.a*b c.provision-Ab12C': 120, // not mktemp's six characters
      'a*b c.20240101T000000.bak': 120,
    };
    for (const [name, minutes] of Object.entries(files)) {
      writeFileSync(join(dir, name), 'x');
      age(join(dir, name), minutes);
    }
    mkdirSync(join(dir, '.a*b c.provision-DdDdDd'));
    age(join(dir, '.a*b c.provision-DdDdDd'), 120);
    const r = spawnSync('/bin/sh', ['-c', staleTempCleanup(target, 30)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const left = readdirSync(dir).sort();
    expect(left).toEqual([...Object.keys(files).filter((f) => f !== '.a*b c.provision-Ab12Cd'), '.a*b c.provision-DdDdDd'].sort());
  });

  it('matches what a write leaves behind when killed before its trap ran', () => {
    const target = join(dir, 'conf');
    // what mktemp in the write step makes, by the same template
    const made = spawnSync('mktemp', [join(dir, tempName('conf'))], { encoding: 'utf8' }).stdout.trim();
    age(made, 90);
    expect(spawnSync('/bin/sh', ['-c', staleTempCleanup(target, 60)]).status).toBe(0);
    expect(existsSync(made)).toBe(false);
  });

  it('the next write of the file removes what a killed one left behind (an hour old), and keeps a young one', () => {
    const target = join(dir, 'app.conf');
    const old = spawnSync('mktemp', [join(dir, tempName('app.conf'))], { encoding: 'utf8' }).stdout.trim();
    const young = spawnSync('mktemp', [join(dir, tempName('app.conf'))], { encoding: 'utf8' }).stdout.trim();
    age(old, STALE_TEMP_MINUTES + 1);
    const r = run(writeFileSteps({ path: target, content: 'x=1\n' })[0]!);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('x=1\n');
    expect(existsSync(old)).toBe(false);
    expect(existsSync(young)).toBe(true);
  });

  it('a missing directory is fine; minutes must be a whole number', () => {
    expect(spawnSync('/bin/sh', ['-c', staleTempCleanup(join(dir, 'none', 'f'), 1)]).status).toBe(0);
    expect(() => staleTempCleanup('/etc/x', -1)).toThrow(/whole number/);
    expect(() => staleTempCleanup('/etc/x', 1.5)).toThrow(/whole number/);
  });
});
