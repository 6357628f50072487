import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { onRollback, rollbackScript } from '../../../src/core/guard.js';

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
