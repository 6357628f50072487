/**
 * ignoreHostKeyAnnouncements reaches into ssh2's protocol handlers: these tests
 * fail when an ssh2 upgrade moves them, instead of the host-key proofs (a
 * signature per host key on every host, a round trip more) silently coming back.
 * TurnMeter.watchKeepalives wraps ssh2's ping the same way: the keepalives a
 * long command draws are counted apart from the round trips anything waits on.
 */
import { createServer, Socket } from 'node:net';
import { Client } from 'ssh2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Duplex } from 'node:stream';
import { ANNOUNCEMENT_WAIT_MS, announcement, awaitAnnouncement, connectSsh, ignoreHostKeyAnnouncements, parseKeyOnce, TurnMeter } from '../../../src/connections/ssh.js';

type Handlers = Record<string, (...a: unknown[]) => unknown>;
const handlersOf = (c: Client): Handlers => (c as unknown as { _protocol: { _handlers: Handlers } })._protocol._handlers;

describe('keepalive round trips', () => {
  it("are told apart from the others, through ssh2's ping where the meter looks for it", async () => {
    const server = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const real = new Client();
    real.on('error', () => {});
    real.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, username: 'x', readyTimeout: 2000 });
    expect(new TurnMeter().watchKeepalives(real)).toBe(true);
    real.end();
    server.close();
    expect(new TurnMeter().watchKeepalives(new Client())).toBe(false);

    // a wire that swallows what we write: what comes back is emitted by hand
    const wire = new Duplex({ read() {}, write: (_chunk, _enc, done) => done() });
    const meter = new TurnMeter();
    meter.attach(wire, false);
    const fake = { _protocol: { ping: () => wire.write('ping') } } as unknown as InstanceType<typeof Client>;
    expect(meter.watchKeepalives(fake)).toBe(true);
    wire.write('exec'); // our command: a turn
    wire.emit('data', Buffer.from('window adjust'));
    (fake as unknown as { _protocol: { ping: () => void } })._protocol.ping(); // silence: a keepalive turn
    wire.emit('data', Buffer.from('request failure'));
    (fake as unknown as { _protocol: { ping: () => void } })._protocol.ping();
    wire.emit('data', Buffer.from('exit status'));
    wire.write('close');
    expect([meter.turns, meter.keepaliveTurns]).toEqual([4, 2]);
    // a keepalive opens a turn and our next command goes out before any answer: that turn was ours too
    wire.emit('data', Buffer.from('close'));
    (fake as unknown as { _protocol: { ping: () => void } })._protocol.ping();
    wire.write('exec');
    expect([meter.turns, meter.keepaliveTurns]).toEqual([5, 2]);
  });
});

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

describe("the first channel after login waits for OpenSSH's announcement", () => {
  const clients: Client[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.end();
  });

  /** A client logged in (as far as our code can tell) to a server with this software version. */
  async function loggedIn(software: string): Promise<Client> {
    const server = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const c = new Client();
    c.on('error', () => {});
    c.on('close', () => server.close());
    c.connect({ host: '127.0.0.1', port: (server.address() as { port: number }).port, username: 'x', readyTimeout: 2000 });
    clients.push(c);
    awaitAnnouncement(c);
    (c as unknown as { _remoteVer: string })._remoteVer = software;
    c.emit('ready');
    return c;
  }

  const settledWithin = async (p: Promise<void>, ms: number): Promise<boolean> =>
    Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);

  it('opens it as soon as the announcement arrives', async () => {
    const c = await loggedIn('OpenSSH_9.2p1 Debian-2+deb12u10');
    const open = announcement(c);
    expect(await settledWithin(open, 50)).toBe(false);
    handlersOf(c).GLOBAL_REQUEST!(null, 'hostkeys-00@openssh.com', false, []);
    expect(await settledWithin(open, 5)).toBe(true);
    // later channels do not wait
    expect(await settledWithin(announcement(c), 5)).toBe(true);
  });

  it(`opens it after ${ANNOUNCEMENT_WAIT_MS} ms when none comes`, async () => {
    const c = await loggedIn('OpenSSH_10.0p2 Debian-7');
    const t0 = performance.now();
    await announcement(c);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(ANNOUNCEMENT_WAIT_MS - 5);
    expect(ms).toBeLessThan(ANNOUNCEMENT_WAIT_MS + 500);
  });

  it('does not wait for servers that send none (other software, OpenSSH before 6.8)', async () => {
    for (const software of ['dropbear_2022.83', 'OpenSSH_6.7p1', 'ssh2js1.17.0']) {
      const c = await loggedIn(software);
      expect(await settledWithin(announcement(c), 5), software).toBe(true);
    }
    for (const software of ['OpenSSH_6.8', 'OpenSSH_7.4', 'OpenSSH_10.2']) {
      const c = await loggedIn(software);
      expect(await settledWithin(announcement(c), 20), software).toBe(false);
    }
  });
});

describe('Nagle', () => {
  it('is off on the socket ssh2 connects with: each packet we send is a request that waits for its answer', async () => {
    const server = createServer((s) => {
      s.on('error', () => {});
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay');
    try {
      await connectSsh({ name: 'h', host: '127.0.0.1', port: (server.address() as { port: number }).port, user: 'u', password: 'p', knownHostsFile: '/dev/null', hostKeyPolicy: 'strict', connectTimeoutMs: 2000, attempts: 1 }).catch(() => {});
      expect(spy).toHaveBeenCalledWith(true);
    } finally {
      spy.mockRestore();
      server.close();
    }
  });
});

describe('identity files', () => {
  it('are parsed once per content and passphrase, however many hosts use them', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const pem = (cipher?: string) =>
      Buffer.from(
        generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem', ...(cipher ? { cipher, passphrase: 'pw' } : {}) }) as string,
      );
    const a = pem();
    const first = parseKeyOnce(a, undefined);
    expect(first).not.toBeInstanceOf(Error);
    expect(parseKeyOnce(Buffer.from(a), undefined)).toBe(first);
    expect(parseKeyOnce(pem(), undefined)).not.toBe(first);
    // an encrypted key: the passphrase is part of what is remembered
    const enc = pem('aes-256-cbc');
    expect(parseKeyOnce(enc, 'wrong')).toBeInstanceOf(Error);
    expect(parseKeyOnce(enc, 'pw')).not.toBeInstanceOf(Error);
  });
});
