import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { armScript, onRollback, rollbackScript } from '../../../src/core/guard.js';

const dir = mkdtempSync(join(tmpdir(), 'guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'utf8' });

describe('undo records for what the snapshot cannot hold', () => {
  it('recorded only inside a commit-confirmed apply, only after the command succeeded, quoted as given', () => {
    const undo = join(dir, 'undo');
    sh(`true && ${onRollback("echo 'it''s one'")}`);
    sh(`PROVISION_ROLLBACK_DIR=${dir}; true && ${onRollback("echo 'first'")}; false && ${onRollback('echo never')}; true && ${onRollback('echo "$HOME" second')}`);
    expect(readFileSync(undo, 'utf8')).toBe(`echo 'first'\necho "$HOME" second\n`);
  });

  it('the rollback runs them last first, before the firewall and files are restored', () => {
    const script = rollbackScript('id', 'label');
    const line = script.split('\n').find((l) => l.includes('"$D/undo"'))!;
    expect(script.indexOf(line)).toBeLessThan(script.indexOf('fw iptables v4'));
    const out = sh(`D=${dir}; printf 'echo one\\necho two\\necho three\\n' > "$D/undo"; ${line.replace('>/dev/null 2>&1', '')}`);
    expect(out).toBe('three\ntwo\none\n');
  });
});

describe('socket-activated sshd', () => {
  it('the snapshot holds our ssh.socket drop-ins; the rollback reloads units and restarts the socket, its service stopped first', () => {
    const arm = armScript({ id: 'id', timeoutSec: 30, init: 'systemd', loginUser: 'admin', label: 'label' });
    expect(arm).toContain(' /etc/systemd/system/ssh.socket.d/provision-listen.conf /etc/systemd/system/sshd.socket.d/provision-listen.conf ');
    expect(rollbackScript('id', 'label')).toContain('if [ -n "$sock" ]; then systemctl daemon-reload; systemctl stop "${sock%.socket}.service"; systemctl restart "$sock"');
  });
});
