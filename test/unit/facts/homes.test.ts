import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { homesFact, parseHomes } from '../../../src/facts/homes.js';
import { FactError } from '../../../src/contract/errors.js';

describe('homes fact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'homes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs under /bin/sh against a passwd file: interactive users in range only, links followed, missing and / homes named', () => {
    mkdirSync(join(dir, 'alice'));
    chmodSync(join(dir, 'alice'), 0o755);
    mkdirSync(join(dir, 'real bob'));
    chmodSync(join(dir, 'real bob'), 0o700);
    symlinkSync(join(dir, 'real bob'), join(dir, 'bob'));
    const passwd = [
      'root:x:0:0:root:/root:/bin/bash',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      `alice:x:1000:1000:Alice:${dir}/alice:/bin/bash`,
      `bob:x:1001:1001::${dir}/bob:/bin/sh`,
      `carol:x:1002:1002::${dir}/carol:/bin/bash`,
      'dave:x:1003:1003::/:/bin/bash',
      `svc:x:1004:1004::${dir}/alice:/bin/false`,
      `bare:x:1007:1007::${dir}/alice:nologin`,
      `huge:x:99999999999999999999:1::${dir}/alice:/bin/sh`,
      '+@netgroup::::::',
      `nobody:x:65534:65534::/nonexistent:/bin/bash`,
      `home:x:1006:1006::${dir}/alice:/bin/bash`, // a user named like the record marker
      `last:x:1005:1005::${dir}/alice:`, // empty shell is /bin/sh; no newline at the end of the file
    ].join('\n');
    writeFileSync(join(dir, 'passwd'), passwd);
    const read = (uidMin: number, uidMax: number) => parseHomes(execFileSync('/bin/sh', ['-c', homesFact.command({ uidMin, uidMax }).replace('/etc/passwd', join(dir, 'passwd'))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    const homes = read(1000, 60000);
    expect(homes.map((h) => [h.user, h.uid, h.home, typeof h.dir === 'string' ? h.dir : h.dir.mode])).toEqual([
      ['alice', 1000, `${dir}/alice`, '0755'],
      ['bob', 1001, `${dir}/bob`, '0700'],
      ['carol', 1002, `${dir}/carol`, 'missing'],
      ['dave', 1003, '/', 'none'],
      ['home', 1006, `${dir}/alice`, '0755'],
      ['last', 1005, `${dir}/alice`, '0755'],
    ]);
    expect(homes[0]?.dir).toMatchObject({ type: 'directory', uid: process.getuid?.() });
    // both ends of the range are included
    expect(read(1001, 1002).map((h) => h.user)).toEqual(['bob', 'carol']);
  });

  it('refuses output it cannot read', () => {
    expect(() => parseHomes('home\nalice\n1000\n/home/alice\ngarbage\n')).toThrow(FactError);
    expect(() => parseHomes('home\nalice\n1000\n')).toThrow(FactError);
    expect(() => parseHomes('', 2)).toThrow('cannot read /etc/passwd');
  });
});
