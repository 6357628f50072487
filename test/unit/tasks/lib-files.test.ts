import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attrDiff, attrSteps, modeArg, normaliseMode } from '../../../src/tasks/lib/attrs.js';
import { STALE_TEMP_MINUTES, predictWrittenFile, staleTempCleanup, writeFileSteps } from '../../../src/tasks/lib/files.js';
import type { Step } from '../../../src/contract/task.js';
import { absent, fileWith } from './_helpers.js';

describe('normaliseMode', () => {
  it('octal text and numbers', () => {
    expect(normaliseMode('644')).toBe('0644');
    expect(normaliseMode('0644')).toBe('0644');
    expect(normaliseMode('4755')).toBe('4755');
    expect(normaliseMode('0o600')).toBe('0600');
    expect(normaliseMode(0o644)).toBe('0644');
    expect(normaliseMode(0o2750)).toBe('2750');
  });

  it('symbolic modes apply to the current mode', () => {
    expect(normaliseMode('u=rw,g=r,o=r')).toBe('0644');
    expect(normaliseMode('u=rwx,go=rx')).toBe('0755');
    expect(normaliseMode('go-w', '0666')).toBe('0644');
    expect(normaliseMode('u+x', '0644')).toBe('0744');
    expect(normaliseMode('a+X', '0644')).toBe('0644');
    expect(normaliseMode('a+X', '0744')).toBe('0755');
    expect(normaliseMode('a+X', '0644', true)).toBe('0755');
    expect(normaliseMode('o=', '0777')).toBe('0770');
    expect(normaliseMode('u+s,+t', '0755')).toBe('5755');
  });

  it('rejects nonsense', () => {
    expect(() => normaliseMode('rw-r--r--')).toThrow(/invalid mode/);
    expect(() => normaliseMode('')).toThrow(/invalid mode/);
    expect(() => normaliseMode(0o17777)).toThrow(/invalid mode/);
  });
});

describe('modeArg (playbook values)', () => {
  it('reads YAML 1.2 numbers by their digits', () => {
    expect(modeArg.parse(644)).toBe('0644');
    expect(modeArg.parse(600)).toBe('0600');
    expect(modeArg.parse('u=rw')).toBe('u=rw');
    expect(modeArg.parse('0640')).toBe('0640');
    expect(() => modeArg.parse(493)).toThrow(/not octal/);
    expect(() => modeArg.parse('abc')).toThrow(/invalid mode/);
  });
});

describe('attribute steps and diffs', () => {
  it('chown before chmod, only what differs', () => {
    const info = fileWith('x', { mode: '0644', owner: 'root', group: 'root' });
    expect(attrSteps('/etc/a b', info, { mode: '0600', owner: 'root', group: 'adm' })).toEqual([{ command: `chgrp adm '/etc/a b' && chmod 0600 '/etc/a b'` }]);
    expect(attrSteps('/etc/a', info, { mode: '644', owner: '0', group: 'root' })).toEqual([]);
    expect(attrDiff('/etc/a', info, { mode: '0600', owner: 'deploy' })).toEqual({
      label: '/etc/a (attributes)',
      before: 'owner: root\nmode: 0644\n',
      after: 'owner: deploy\nmode: 0600\n',
    });
  });

  it('predicts the written file', () => {
    expect(predictWrittenFile(absent, { content: 'hi\n', mode: '0600', owner: 'deploy' })).toEqual({
      exists: true,
      type: 'file',
      mode: '0600',
      owner: 'deploy',
      group: 'root',
      uid: -1,
      gid: 0,
      size: 3,
      content: 'hi\n',
      sha256: '98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4',
    });
    expect(predictWrittenFile(fileWith('old', { mode: '0640', owner: 'www-data', uid: 33 }), { content: 'new' })).toMatchObject({ mode: '0640', owner: 'www-data', uid: 33, content: 'new' });
  });
});

describe('writeFileSteps', () => {
  it('is one step with the exact script', () => {
    const steps = writeFileSteps({ path: '/etc/ssh/sshd_config', content: 'Port 22\n', mode: '0600', owner: 'root', group: 'root', backup: true, validate: '/usr/sbin/sshd -t -f %s' });
    expect(steps).toEqual([
      {
        stdin: 'Port 22\n',
        command: [
          staleTempCleanup('/etc/ssh/sshd_config', STALE_TEMP_MINUTES),
          'tmp=$(mktemp /etc/ssh/.sshd_config.provision-XXXXXX) || exit 1',
          `trap 'rm -f "$tmp"' EXIT`,
          `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM`,
          'cat > "$tmp" || exit 1',
          `[ "$(wc -c < "$tmp")" -eq 8 ] || { echo 'incomplete content received; file left unchanged' >&2; exit 1; }`,
          `if command -v sha256sum >/dev/null 2>&1; then [ "$(sha256sum < "$tmp" | cut -d' ' -f1)" = ${createHash('sha256').update('Port 22\n').digest('hex')} ] || { echo 'content checksum mismatch; file left unchanged' >&2; exit 1; }; fi`,
          'chown root:root "$tmp" || exit 1',
          'chmod 0600 "$tmp" || exit 1',
          `if ! ( /usr/sbin/sshd -t -f "$tmp" ) </dev/null; then echo 'validation failed: /usr/sbin/sshd -t -f %s' >&2; exit 1; fi`,
          'if [ -f /etc/ssh/sshd_config ]; then cp -p -- /etc/ssh/sshd_config /etc/ssh/sshd_config."$(date +%Y%m%dT%H%M%S)".bak || exit 1; fi',
          'mv -f -- "$tmp" /etc/ssh/sshd_config || exit 1',
          'trap - EXIT',
          'if command -v selinuxenabled >/dev/null 2>&1 && selinuxenabled; then restorecon -- /etc/ssh/sshd_config 2>/dev/null || true; fi',
        ].join('\n'),
      },
    ]);
  });

  it('quotes hostile paths', () => {
    const [step] = writeFileSteps({ path: `/tmp/it's $(reboot)\n.conf`, content: '' });
    expect(step?.command).toContain(`\ntmp=$(mktemp '/tmp/.it'\\''s $(reboot)\n.conf.provision-XXXXXX') || exit 1\n`);
    expect(step?.command).toContain(`mv -f -- "$tmp" '/tmp/it'\\''s $(reboot)\n.conf' || exit 1`);
  });

  it('refuses validate without %s', () => {
    expect(() => writeFileSteps({ path: '/etc/x', content: '', validate: 'visudo -c' })).toThrow(/must contain %s/);
  });

  describe('run with /bin/sh', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'provision-write-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const run = (step: Step) => spawnSync('/bin/sh', ['-c', step.command], { input: step.stdin ?? '', encoding: 'utf8' });

    it('validation failure keeps the old file and leaves no temp file', () => {
      const p = join(dir, 'sudoers');
      writeFileSync(p, 'old\n');
      const r = run(writeFileSteps({ path: p, content: 'new\n', validate: 'grep -q never %s' })[0] as Step);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('validation failed: grep -q never %s');
      expect(readFileSync(p, 'utf8')).toBe('old\n');
      expect(readdirSync(dir)).toEqual(['sudoers']);
    });

    it('keeps the existing mode, makes a dated backup, replaces atomically', () => {
      const p = join(dir, 'conf');
      writeFileSync(p, 'old\n');
      chmodSync(p, 0o640);
      const r = run(writeFileSteps({ path: p, content: 'new\n', backup: true, validate: 'grep -q new %s' })[0] as Step);
      expect(r.status).toBe(0);
      expect(readFileSync(p, 'utf8')).toBe('new\n');
      expect(statSync(p).mode & 0o7777).toBe(0o640);
      const names = readdirSync(dir).sort();
      expect(names).toHaveLength(2);
      expect(names[1]).toMatch(/^conf\.\d{8}T\d{6}\.bak$/);
      expect(readFileSync(join(dir, names[1] as string), 'utf8')).toBe('old\n');
    });

    it('new file: 0666 minus umask, or the requested (symbolic) mode', () => {
      const p = join(dir, 'a');
      const umask = Number.parseInt(execFileSync('/bin/sh', ['-c', 'umask'], { encoding: 'utf8' }).trim(), 8);
      expect(run(writeFileSteps({ path: p, content: 'x' })[0] as Step).status).toBe(0);
      expect(statSync(p).mode & 0o7777).toBe(0o666 & ~umask);
      const q = join(dir, 'b');
      expect(run(writeFileSteps({ path: q, content: 'y', mode: 'u=rw,go=' })[0] as Step).status).toBe(0);
      expect(statSync(q).mode & 0o7777).toBe(0o600);
    });

    it('a missing directory fails without creating anything', () => {
      const r = run(writeFileSteps({ path: join(dir, 'nope', 'x'), content: 'x' })[0] as Step);
      expect(r.status).toBe(1);
      expect(readdirSync(dir)).toEqual([]);
    });
  });
});

describe('writeFileSteps against a truncated transfer', () => {
  it('never renames a short file into place', async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, writeFileSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'provision-trunc-'));
    const target = join(dir, 'app.conf');
    writeFileSync(target, 'old\n');
    const [step] = writeFileSteps({ path: target, content: 'new content that is longer\n' });
    // the connection dropped after 5 bytes: stdin ends early
    expect(() => execFileSync('/bin/sh', ['-c', step!.command], { input: 'new c', stdio: ['pipe', 'pipe', 'pipe'] })).toThrow(/incomplete content/);
    expect(readFileSync(target, 'utf8')).toBe('old\n');
    expect(readdirSync(dir)).toEqual(['app.conf']);
  });
});
