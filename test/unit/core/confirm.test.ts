/**
 * Commit-confirmed apply when sshd's host keys change (confirm.ts): the new
 * public key is read over the verified session and recorded in known_hosts for
 * the address we dial, the confirmation connection must present it, and a
 * failed confirmation rolls the host back and puts known_hosts back too. The
 * host is a fake connection that answers the guard's scripts; HOME is a temp
 * directory, so ~/.ssh/known_hosts is the test's own.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../../src/connections/known-hosts.js';
import type { Connection, ExecResult } from '../../../src/connections/types.js';
import { HostKeyError } from '../../../src/contract/errors.js';
import { applyConfirmed, type ConfirmRequest } from '../../../src/core/confirm.js';
import type { ConnectExtra } from '../../../src/core/connect.js';
import { HostSession } from '../../../src/core/host.js';
import type { HostSpec } from '../../../src/core/inventory.js';
import { host } from '../tasks/_helpers.js';

function blob(type: string, body: string): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  return Buffer.concat([len, t, Buffer.from(body)]);
}
const ed = blob('ssh-ed25519', 'ed-key');
const oldRsa = blob('ssh-rsa', 'rsa-3072');
const newRsa = blob('ssh-rsa', 'rsa-4096');
const ecdsa = blob('ecdsa-sha2-nistp256', 'ecdsa-key');
const line = (b: Buffer) => `[127.0.0.1]:2200 ${b.subarray(4, 4 + b.readUInt32BE(0)).toString()} ${b.toString('base64')}`;

/** Answers the guard's scripts; `cat` of a .pub file gives the new RSA key. */
class FakeHost implements Connection {
  readonly kind = 'ssh' as const;
  readonly stats = { commands: 0, roundTrips: 0, authRoundTrips: 0, keepaliveRoundTrips: 0, bytesIn: 0, bytesOut: 0 };
  readonly commands: string[] = [];
  constructor(readonly name = 'web1') {}
  async exec(command: string): Promise<ExecResult> {
    this.commands.push(command);
    if (command.startsWith('cat -- ')) return { code: 0, stdout: `ssh-rsa ${newRsa.toString('base64')} root@web1\n`, stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  }
  async close(): Promise<void> {}
}

let home: string;
let savedHome: string | undefined;
beforeAll(() => {
  savedHome = process.env.HOME;
  home = mkdtempSync(join(tmpdir(), 'provision-confirm-'));
  process.env.HOME = home;
});
afterAll(() => {
  process.env.HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

function setup(confirmWith: (extra: ConnectExtra) => Connection) {
  const knownHostsFile = join(home, `known_hosts-${Math.random().toString(36).slice(2)}`);
  const before = [line(ed), line(oldRsa), line(ecdsa), `other ssh-rsa ${oldRsa.toString('base64')}`, ''].join('\n');
  writeFileSync(knownHostsFile, before);
  const spec = {
    name: 'web1',
    groups: ['all'],
    vars: {},
    connection: { connection: 'ssh', host: '127.0.0.1', port: 2200, knownHostsFile, hostKeyPolicy: 'strict', jump: [], connectTimeoutMs: 5000, portMap: {} },
  } as HostSpec;
  const conn = new FakeHost();
  const session = new HostSession('web1', conn, undefined);
  session.facts = host;
  session.gathered = true;
  const asked: (readonly string[] | undefined)[] = [];
  const connect = async (_s: HostSpec, extra: ConnectExtra = {}) => {
    asked.push(extra.hostKeyAlgorithms);
    return confirmWith(extra);
  };
  const req: ConfirmRequest = {
    taskName: 'sshd host keys',
    sshPort: undefined,
    timeoutSec: 30,
    timeoutMs: undefined,
    runSteps: async (prefix) => {
      await session.exec(`${prefix}ssh-keygen -t rsa -b 4096`, { become: true, becomeUser: 'root' });
    },
    hostKeys: { files: ['/etc/ssh/ssh_host_rsa_key.pub'], removed: ['ecdsa-sha2-nistp256'] },
  };
  return { spec, session, conn, connect, asked, req, knownHostsFile, before };
}

describe('commit-confirmed apply of new host keys', () => {
  it('records the new key for the host, drops the replaced and removed types, and confirms over a connection that must present it', async () => {
    const t = setup(() => new FakeHost());
    const note = await applyConfirmed(t.session, t.spec, t.connect, t.req);
    expect(t.conn.commands).toContain('cat -- /etc/ssh/ssh_host_rsa_key.pub');
    expect(readFileSync(t.knownHostsFile, 'utf8').split('\n').filter(Boolean)).toEqual([
      line(ed),
      `other ssh-rsa ${oldRsa.toString('base64')}`,
      line(newRsa),
    ]);
    expect(t.asked).toEqual([['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']]);
    expect(note).toBe(
      `; host key now ssh-rsa ${fingerprint(newRsa)}, recorded in ${t.knownHostsFile} for [127.0.0.1]:2200; ecdsa-sha2-nistp256 no longer presented, dropped from known_hosts; confirmed over a new connection that presents it`,
    );
  });

  it('asks for each new key type on a connection of its own; the last one disarms', async () => {
    const t = setup(() => new FakeHost());
    const edNew = blob('ssh-ed25519', 'ed-new');
    t.conn.exec = async (command: string) => {
      t.conn.commands.push(command);
      const key = command.includes('ed25519') ? edNew : newRsa;
      return command.startsWith('cat -- ') ? { code: 0, stdout: `${key.subarray(4, 4 + key.readUInt32BE(0))} ${key.toString('base64')}\n`, stderr: '' } : { code: 0, stdout: '', stderr: '' };
    };
    const req = { ...t.req, hostKeys: { files: ['/etc/ssh/ssh_host_ed25519_key.pub', '/etc/ssh/ssh_host_rsa_key.pub'], removed: [] } };
    await applyConfirmed(t.session, t.spec, t.connect, req);
    expect(t.asked).toEqual([['ssh-ed25519'], ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']]);
    expect(readFileSync(t.knownHostsFile, 'utf8')).toContain(line(edNew));
    expect(readFileSync(t.knownHostsFile, 'utf8')).not.toContain(line(ed));
  });

  it('a confirmation that does not present the new key rolls the host back at once and puts known_hosts back', async () => {
    const t = setup(() => {
      throw new HostKeyError('web1', 'HOST KEY CHANGED for [127.0.0.1]:2200', 'SHA256:x');
    });
    await expect(applyConfirmed(t.session, t.spec, t.connect, t.req)).rejects.toMatchObject({ code: 'E_ROLLED_BACK' });
    expect(readFileSync(t.knownHostsFile, 'utf8')).toBe(t.before);
    // the deadline was brought forward over the session still open
    expect(t.conn.commands.filter((c) => c.includes("-c 'echo 0 > /var/lib/provision/rollback/"))).toHaveLength(1);
  });

  it('a new key that cannot be read rolls back before any confirmation', async () => {
    const t = setup(() => new FakeHost());
    t.conn.exec = async (command: string) => {
      t.conn.commands.push(command);
      return command.startsWith('cat -- ') ? { code: 1, stdout: '', stderr: 'No such file or directory' } : { code: 0, stdout: '', stderr: '' };
    };
    await expect(applyConfirmed(t.session, t.spec, t.connect, t.req)).rejects.toThrow(/cannot read the host key \/etc\/ssh\/ssh_host_rsa_key.pub: No such file/);
    expect(t.asked).toEqual([]);
    expect(readFileSync(t.knownHostsFile, 'utf8')).toBe(t.before);
  });
});
