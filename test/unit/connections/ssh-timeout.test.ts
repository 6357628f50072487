/**
 * The connect timeout is a silence timeout: a host that keeps answering, however
 * slowly, is not given up after connect_timeout, and one that says nothing is.
 * Against local TCP servers that speak no SSH beyond lines before the version
 * string (RFC 4253 4.2 lets a server send those), so no handshake ever completes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectSsh, socketError } from '../../../src/connections/ssh.js';

const dir = mkdtempSync(join(tmpdir(), 'ssh-timeout-'));
const knownHostsFile = join(dir, 'known_hosts');
writeFileSync(knownHostsFile, '');

let server: Server | undefined;
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets) s.destroy();
  server?.close();
});

/** A server that sends one line every `everyMs` for `forMs`, then nothing. */
async function trickling(everyMs: number, forMs: number): Promise<number> {
  server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    const t0 = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - t0 >= forMs || sock.destroyed) return clearInterval(timer);
      sock.write('still starting\r\n');
    }, everyMs);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

async function timeToFail(port: number, connectTimeoutMs: number, silenceMs?: number): Promise<{ ms: number; message: string }> {
  const t0 = performance.now();
  try {
    await connectSsh({ name: 'slow', host: '127.0.0.1', port, user: 'u', password: 'p', knownHostsFile, hostKeyPolicy: 'strict', connectTimeoutMs, attempts: 1, ...(silenceMs ? { silenceMs } : {}) });
  } catch (err) {
    return { ms: performance.now() - t0, message: (err as Error).message };
  }
  throw new Error('connected to a server that speaks no SSH');
}

describe('SSH connect timeout', () => {
  it('gives up a host that says nothing after connect_timeout', async () => {
    const port = await trickling(100, 0);
    const r = await timeToFail(port, 600);
    expect(r.message).toMatch(/slow: Timed out while waiting for handshake: no answer for 0.6 s/);
    expect(r.ms).toBeGreaterThanOrEqual(550);
    expect(r.ms).toBeLessThan(3000);
  });

  it('keeps waiting while the host answers, however much longer than connect_timeout that takes', async () => {
    const port = await trickling(150, 2500);
    const r = await timeToFail(port, 600);
    expect(r.message).toMatch(/Timed out while waiting for handshake/);
    // silent only after 2.5 s of lines: a fixed 0.6 s timeout would have fired at 0.6 s
    expect(r.ms).toBeGreaterThanOrEqual(2500);
  });

  it('allows the silence the run\'s pace gives (silenceMs) instead of connect_timeout, never past 6 connect timeouts', async () => {
    const port = await trickling(100, 0);
    const r = await timeToFail(port, 300, 1200);
    expect(r.message).toMatch(/no answer for 1.2 s/);
    expect(r.ms).toBeGreaterThanOrEqual(1150);
    // 5 s of allowed silence, but the whole handshake is bounded by 6 x 100 ms
    const capped = await timeToFail(port, 100, 5000);
    expect(capped.message).toMatch(/Timed out while waiting for handshake/);
    expect(capped.ms).toBeLessThan(1500);
  });
});

describe('a host that closes before the login', () => {
  it('after its version line, without a word: unreachable at once ("Connection lost before handshake"), not at the timeout', async () => {
    server = createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => {});
      sock.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
      sock.once('data', () => sock.end());
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const r = await timeToFail((server.address() as { port: number }).port, 5000);
    expect(r.message).toMatch(/slow: Connection lost before handshake/);
    expect(r.ms).toBeLessThan(2000);
  });
});

describe('socketError', () => {
  it('names what failed when Node gives no message (every address of a name refused: an AggregateError)', () => {
    const refused = (a: string) => Object.assign(new Error(`connect ECONNREFUSED ${a}`), { code: 'ECONNREFUSED' });
    expect(socketError(Object.assign(new AggregateError([refused('::1:22'), refused('127.0.0.1:22')], ''), { code: 'ECONNREFUSED' }))).toBe(
      'connect ECONNREFUSED ::1:22; connect ECONNREFUSED 127.0.0.1:22',
    );
    expect(socketError(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(socketError(new Error('connect ECONNREFUSED 127.0.0.1:1'))).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });
});
