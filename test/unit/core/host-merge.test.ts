/**
 * A batch runs one command for the reads of a fact that merges (Fact.merge,
 * packages): every read still gets its own value, the one it gets when read
 * alone. Run on this machine (a real dpkg or rpm database, or neither) through
 * a LocalConnection whose commands are recorded.
 */
import { describe, expect, it } from 'vitest';
import { LocalConnection } from '../../../src/connections/local.js';
import type { Connection, ExecOptions } from '../../../src/connections/types.js';
import { HostSession, type FactRead } from '../../../src/core/host.js';
import { packagesInstalled } from '../../../src/facts/packages.js';
import { fileAt } from '../../../src/facts/files.js';

function recorded(): { conn: Connection; sent: string[] } {
  const local = new LocalConnection('local');
  const sent: string[] = [];
  const conn: Connection = {
    name: local.name,
    kind: local.kind,
    stats: local.stats,
    close: () => local.close(),
    exec: (command: string, options?: ExecOptions) => {
      sent.push(command);
      return local.exec(command, options);
    },
  };
  return { conn, sent };
}

const as = { become: false, becomeUser: 'root' };
const requests = [packagesInstalled(['dpkg', 'no-such-package-x']), packagesInstalled(['coreutils']), packagesInstalled(['dpkg', 'bash']), fileAt('/etc/hostname')];

describe('a batch merges the reads of a fact that merges', () => {
  it('one dpkg-query/rpm command for three packages reads, each value as read alone', async () => {
    const { conn, sent } = recorded();
    const batch = new HostSession('local', conn, undefined);
    await batch.read(requests.map((request): FactRead => ({ request, as })));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.match(/dpkg-query -W/g)).toHaveLength(1);
    expect(sent[0]).toContain('-- dpkg no-such-package-x coreutils bash 2>');
    const merged = await batch.readFacts(requests, as);
    expect(sent).toHaveLength(1); // all cached
    for (const r of requests) {
      const alone = await new HostSession('local', recorded().conn, undefined).readFacts([r], as);
      expect(merged.get(r.id), r.id).toEqual(alone.get(r.id));
    }
    expect(merged.get(requests[1]!.id)).not.toHaveProperty('dpkg');
  });

  it('reads for other host classes are not merged with reads for every host', async () => {
    const { conn, sent } = recorded();
    const s = new HostSession('local', conn, undefined);
    await s.read([{ request: requests[0]!, as }, { request: requests[1]!, as, classes: ['rhel:*:*'] }], { gather: true, lenient: true });
    expect(sent[0]!.match(/dpkg-query -W/g)).toHaveLength(2);
  });
});
