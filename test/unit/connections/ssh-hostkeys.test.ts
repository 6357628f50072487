/**
 * ignoreHostKeyAnnouncements reaches into ssh2's protocol handlers: these tests
 * fail when an ssh2 upgrade moves them, instead of the host-key proofs (a
 * signature per host key on every host, a round trip more) silently coming back.
 */
import { createServer } from 'node:net';
import { Client } from 'ssh2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ignoreHostKeyAnnouncements } from '../../../src/connections/ssh.js';

type Handlers = Record<string, (...a: unknown[]) => unknown>;
const handlersOf = (c: Client): Handlers => (c as unknown as { _protocol: { _handlers: Handlers } })._protocol._handlers;

describe('host key announcements after login', () => {
  const clients: Client[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.end();
  });

  /** A client connecting to a server that never answers (the handlers exist from connect() on). */
  async function connecting(): Promise<Client> {
    const server = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const c = new Client();
    c.on('error', () => {});
    c.on('close', () => server.close());
    c.connect({ host: '127.0.0.1', port, username: 'x', readyTimeout: 2000 });
    clients.push(c);
    return c;
  }

  it("are handled by ssh2 where the wrapper looks for them (ssh2's handler proves the keys)", async () => {
    const c = await connecting();
    const own = handlersOf(c).GLOBAL_REQUEST;
    expect(typeof own).toBe('function');
    expect(String(own)).toContain('hostkeys-00@openssh.com');
    expect(ignoreHostKeyAnnouncements(c)).toBe(true);
    expect(handlersOf(c).GLOBAL_REQUEST).not.toBe(own);
  });

  it('are dropped, while every other global request still reaches ssh2', async () => {
    const c = await connecting();
    const seen = vi.fn();
    handlersOf(c).GLOBAL_REQUEST = seen;
    ignoreHostKeyAnnouncements(c);
    const wrapped = handlersOf(c).GLOBAL_REQUEST!;
    wrapped(null, 'hostkeys-00@openssh.com', false, [Buffer.from('key')]);
    expect(seen).not.toHaveBeenCalled();
    wrapped(null, 'keepalive@openssh.com', true, undefined);
    // one that wants an answer is left to ssh2, which must answer it
    wrapped(null, 'hostkeys-00@openssh.com', true, []);
    expect(seen.mock.calls.map((a) => a.slice(1, 3))).toEqual([
      ['keepalive@openssh.com', true],
      ['hostkeys-00@openssh.com', true],
    ]);
  });

  it('leave a client without those handlers as it is', () => {
    expect(ignoreHostKeyAnnouncements(new Client())).toBe(false);
  });
});
