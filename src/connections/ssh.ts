/**
 * SSH connection over ssh2: one TCP connection per host for the whole run,
 * and one long-lived shell channel on it that runs the commands in turn (a
 * channel per command when the shell is busy, or for huge stdin). Host keys are checked against known_hosts files;
 * jump hosts are chained with `forwardOut`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AuthenticationType, ClientChannel, Client as ClientType, ConnectConfig, ParsedKey, ServerHostKeyAlgorithm } from 'ssh2';
import { ConnectionError, HostKeyError, TimeoutError, errorMessage } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { HopPool } from './hop-pool.js';
import { ssh2 } from './ssh2.js';
import type { Connection, ConnectionStats, ExecOptions, ExecResult } from './types.js';
type Client = ClientType;

import {
  appendKnownHost,
  expandHome,
  findKnownKeys,
  fingerprint,
  hostKeyAlgorithms,
  judgeHostKey,
  knownHostName,
  knownHostsFiles,
  knownTypes,
  readKnownHosts,
  type HostKeyPolicy,
} from './known-hosts.js';

export interface SshHop {
  host: string;
  port: number;
  user?: string;
  identityFile?: string;
}

export interface SshOptions extends SshHop {
  /** Name for messages (inventory host name). */
  name: string;
  passphrase?: string;
  password?: string;
  /** Extra known_hosts file (from the inventory); checked with ~/.ssh/known_hosts. accept-new writes here when given. */
  knownHostsFile?: string;
  hostKeyPolicy: HostKeyPolicy;
  /** Bastions to go through, in order. */
  jump?: readonly SshHop[];
  connectTimeoutMs: number;
  /** How long the host may stay silent while connecting (default connectTimeoutMs); the whole handshake is bounded by 6 connect timeouts either way. */
  silenceMs?: number;
  /** Connect attempts for transient network errors (default 5; a handshake timeout is retried once). */
  attempts?: number;
  /** ssh-agent socket (default: SSH_AUTH_SOCK). */
  agent?: string;
  /**
   * A host key already verified on another connection to this host (sshd moved
   * port): accepted and recorded in known_hosts for the new address.
   */
  trustKey?: Buffer;
  /** Accept only these host key algorithms from the target (to confirm that it presents a new key). */
  hostKeyAlgorithms?: readonly string[];
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/**
 * The first key in a key file's content, or why it does not parse (undefined: it holds
 * none). Parsed once in this process per passphrase and content: 500 hosts with one
 * identity file parse it once.
 */
const parsedKeys = new Map<string, ParsedKey | Error | undefined>();
export function parseKeyOnce(data: Buffer, passphrase: string | undefined): ParsedKey | Error | undefined {
  const id = `${passphrase ?? ''}\0${data.toString('base64')}`;
  if (!parsedKeys.has(id)) {
    const parsed = ssh2().parseKey(data, passphrase);
    parsedKeys.set(id, Array.isArray(parsed) ? parsed[0] : parsed);
  }
  return parsedKeys.get(id);
}

/** The key in an identity file's content (`data`); `file` names it in messages. */
function keyOf(name: string, file: string, data: Buffer, passphrase: string | undefined): ParsedKey {
  const key = parseKeyOnce(data, passphrase);
  if (key instanceof Error) {
    const hint = /encrypted|passphrase/i.test(key.message) ? ' (set passphrase_env in the inventory to the variable holding its passphrase)' : '';
    throw new ConnectionError(name, `cannot use identity file ${file}: ${key.message}${hint}`, { cause: key, code: 'E_AUTH' });
  }
  if (!key) throw new ConnectionError(name, `identity file ${file} holds no key`, { code: 'E_AUTH' });
  return key;
}

type AuthMethod =
  | { type: 'agent'; username: string; agent: string }
  | { type: 'publickey'; username: string; key: ParsedKey }
  | { type: 'password'; username: string; password: string };

/**
 * The authentication attempts ssh2 should make, in order, each a function that makes
 * it. An identity file is read now, so one that cannot be read is told before any
 * connection, and its key parsed when sshd asks for a method, after the key exchange
 * (an Ed25519 key takes some 5 ms): not on the way to the first packet. Default keys
 * (~/.ssh/id_*, where the inventory names none) are parsed now: those that do not
 * parse are left out, and none left is "no way to authenticate", told before dialling.
 */
function authMethods(name: string, opts: SshHop & { passphrase?: string; password?: string; agent?: string }, username: string): (() => AuthMethod)[] {
  const methods: (() => AuthMethod)[] = [];
  const { identityFile, agent, passphrase, password } = opts;
  if (identityFile) {
    let data: Buffer;
    try {
      data = readFileSync(expandHome(identityFile));
    } catch (err) {
      throw new ConnectionError(name, `cannot read identity file ${identityFile}: ${errorMessage(err)}`, { cause: err, code: 'E_AUTH' });
    }
    methods.push(() => ({ type: 'publickey', username, key: keyOf(name, identityFile, data, passphrase) }));
  } else {
    if (agent) methods.push(() => ({ type: 'agent', username, agent }));
    for (const k of DEFAULT_KEYS) {
      const file = join(homedir(), '.ssh', k);
      if (!existsSync(file)) continue;
      const key = parseKeyOnce(readFileSync(file), passphrase);
      if (key && !(key instanceof Error)) methods.push(() => ({ type: 'publickey', username, key }));
    }
  }
  if (password !== undefined) methods.push(() => ({ type: 'password', username, password }));
  return methods;
}

// "Connection lost before handshake": the server closed before its banner (sshd re-executing
// after SIGHUP or restarting, MaxStartups throttling, a port proxy with no backend yet)
const TRANSIENT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Timed out while waiting for handshake|Connection lost before handshake|socket hang up/i;

/** How a connection authenticated: the method, and the public keys it may have used (`type base64`). */
export interface AuthUsed {
  method: 'publickey' | 'agent' | 'password';
  /** The key that was accepted; for an agent, every key it offers (ssh2 does not say which one was). */
  keys: string[];
}

const publicLine = (key: ParsedKey): string => `${key.type} ${key.getPublicSSH().toString('base64')}`;

function agentKeys(agent: string): Promise<string[]> {
  return new Promise((resolve) => {
    try {
      ssh2().createAgent(agent).getIdentities((err, keys) => {
        // OpenSSH's agent answers parsed keys; other agents may answer raw blobs or entries
        const parsed = (keys ?? []).flatMap((k) => (typeof k === 'object' && k !== null && 'getPublicSSH' in k ? [k as ParsedKey] : []));
        resolve(err ? [] : parsed.map(publicLine));
      });
    } catch {
      resolve([]);
    }
  });
}

/** A handshake that keeps answering may take this many connect timeouts before it is given up. */
const HANDSHAKE_CAP = 6;

/**
 * Calls `silent` once when nothing has arrived on `transport` for `ms`: a host is
 * unreachable when it stops answering, not when it answers slowly (200 handshakes
 * on a loaded machine each take longer than a fixed timeout while progressing).
 * Before judging, the check waits for one turn of the event loop, so data that
 * arrived while this process itself was stalled is counted first.
 */
function watchSilence(transport: Duplex, ms: number, silent: () => void): NodeJS.Timeout {
  let last = performance.now();
  transport.on('data', () => {
    last = performance.now();
  });
  const timer = setInterval(() => {
    if (performance.now() - last < ms) return;
    setImmediate(() => {
      if (performance.now() - last < ms) return;
      clearInterval(timer);
      silent();
    });
  }, Math.max(100, Math.floor(ms / 4)));
  return timer;
}

/**
 * A direct connection dials first, then lets the event loop turn once (Node sends the
 * SYN to an IP address on the next tick; a name is looked up first) before its key is
 * parsed, ssh2 loads and the handshake is set up: sshd forks and re-executes for each
 * connection and sends its version line some 30 ms later, time this process spends
 * getting ready meanwhile.
 */
async function connectHop(
  opts: SshOptions,
  hop: SshHop,
  hopName: string,
  via: Duplex | undefined,
  onHostKey: (blob: Buffer) => void = () => {},
  meter?: TurnMeter,
): Promise<{ client: Client; auth: AuthUsed }> {
  const username = hop.user ?? opts.user ?? userInfo().username;
  const methods = authMethods(hopName, { ...hop, passphrase: opts.passphrase, password: hop === opts ? opts.password : undefined, agent: opts.agent ?? process.env.SSH_AUTH_SOCK, identityFile: hop.identityFile ?? opts.identityFile }, username);
  if (methods.length === 0) {
    throw new ConnectionError(hopName, 'no way to authenticate: set identity_file, run an ssh-agent, or give password_env in the inventory', { code: 'E_AUTH' });
  }
  const login = { username, methods };
  if (via) return handshake(opts, hop, hopName, login, via, false, onHostKey, meter);
  const sock = await dial(hop, hopName);
  try {
    return await handshake(opts, hop, hopName, login, sock, true, onHostKey, meter);
  } catch (err) {
    sock.destroy();
    throw err;
  }
}

/**
 * What a socket error says. Node 20 reports a name whose every address failed (localhost:
 * ::1 and 127.0.0.1, both refused) as an AggregateError with an empty message.
 */
export function socketError(err: Error & { code?: string; errors?: unknown[] }): string {
  if (err.message) return err.message;
  const each = (err.errors ?? []).map((e) => (e instanceof Error ? e.message : String(e))).filter(Boolean);
  return each.length > 0 ? each.join('; ') : (err.code ?? 'connection failed');
}

/** A TCP connection to `hop`, connecting or connected; a failure within the turn it was given is this promise's. */
function dial(hop: SshHop, hopName: string): Promise<Socket> {
  const sock = new Socket();
  sock.setMaxListeners(0);
  let failed: Error | undefined;
  const early = (err: Error): void => {
    failed = err;
  };
  sock.on('error', early).connect({ host: hop.host, port: hop.port });
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      sock.off('error', early);
      if (!failed && !sock.destroyed) return resolve(sock);
      sock.destroy();
      const why = failed ? socketError(failed) : 'Connection lost before handshake';
      reject(new ConnectionError(hopName, why, { ...(failed ? { cause: failed } : {}), code: 'E_UNREACHABLE' }));
    }),
  );
}

/** Authenticates on `sock` (a TCP connection dialled or connecting, or a channel forwarded by a jump host). */
function handshake(
  opts: SshOptions,
  hop: SshHop,
  hopName: string,
  { username, methods }: { username: string; methods: readonly (() => AuthMethod)[] },
  sock: Duplex,
  tcp: boolean,
  onHostKey: (blob: Buffer) => void,
  meter: TurnMeter | undefined,
): Promise<{ client: Client; auth: AuthUsed }> {
  const knownFiles = knownHostsFiles(opts.knownHostsFile);
  const khName = knownHostName(hop.host, hop.port);
  const known = findKnownKeys(readKnownHosts(knownFiles.files), khName);
  const preferred = knownTypes(known).flatMap(hostKeyAlgorithms);
  return new Promise((resolve, reject) => {
    const client = new (ssh2().Client)();
    let hostKeyProblem: ConnectionError | undefined;
    let authProblem: unknown;
    // hand ssh2 the methods one by one, so the last one tried before 'ready' is the one that worked
    let next = 0;
    let tried: AuthMethod | undefined;
    const authHandler = (_left: unknown, _partial: unknown, done: (m: unknown) => void): void => {
      tried = undefined;
      try {
        tried = methods[next++]?.();
      } catch (err) {
        // an identity file that does not parse: ssh2 gives up, and the error handler below says why
        authProblem = err;
      }
      done(tried ?? false);
    };
    const config: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username,
      // the real limit is the silence watch below; this only bounds a handshake that trickles forever
      readyTimeout: opts.connectTimeoutMs * HANDSHAKE_CAP,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      authHandler: authHandler as unknown as AuthenticationType[],
      hostVerifier: (blob: Buffer) => {
        onHostKey(blob);
        const verdict = judgeHostKey(known, blob);
        const fp = fingerprint(blob);
        if (verdict.kind === 'known') return true;
        // accepted: recorded, or refused when it cannot be (a known_hosts_file under a file, unwritable)
        const record = (): boolean => {
          try {
            appendKnownHost(knownFiles.writeTo, khName, blob);
            return true;
          } catch (err) {
            hostKeyProblem = new HostKeyError(hopName, `cannot record the host key of ${khName} (${fp}) in ${knownFiles.writeTo}: ${errorMessage(err)}`, fp);
            return false;
          }
        };
        if (verdict.kind === 'unknown' && hop === opts && opts.trustKey?.equals(blob)) return record();
        if (verdict.kind === 'changed') {
          hostKeyProblem = new HostKeyError(
            hopName,
            `HOST KEY CHANGED for ${khName}: it presents ${fp}, known_hosts has ${verdict.expected.join(', ')}. This is refused always: if the host was rebuilt, remove the old line with ssh-keygen -R ${quoteName(khName)}`,
            fp,
          );
          return false;
        }
        if (verdict.kind === 'revoked') {
          hostKeyProblem = new HostKeyError(hopName, `host key ${fp} of ${khName} is marked @revoked in known_hosts`, fp);
          return false;
        }
        if (opts.hostKeyPolicy === 'accept-new') return record();
        hostKeyProblem = new HostKeyError(
          hopName,
          `unknown host key for ${khName} (${fp}); verify it and add it to known_hosts (ssh-keyscan -p ${hop.port} ${hop.host}), or set host_key_policy: accept-new`,
          fp,
        );
        return false;
      },
      // only the algorithms asked for; else the key types known_hosts has for this host first
      // (ssh2's prepend skips listed ones, so remove them first)
      ...(hop === opts && opts.hostKeyAlgorithms
        ? { algorithms: { serverHostKey: [...opts.hostKeyAlgorithms] as ServerHostKeyAlgorithm[] } }
        : preferred.length
          ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred } as never } }
          : {}),
      sock,
    };
    let watch: NodeJS.Timeout | undefined;
    const settle = () => clearInterval(watch);
    client.once('ready', () => {
      settle();
      const method = tried?.type ?? 'publickey';
      const keys = tried?.type === 'publickey' ? Promise.resolve([publicLine(tried.key)]) : tried?.type === 'agent' ? agentKeys(tried.agent) : Promise.resolve([]);
      void keys.then((k) => resolve({ client, auth: { method, keys: k } }));
    });
    // on, not once: ssh2 can emit a second error for the same failure (ECONNRESET, then
    // "Connection lost before handshake" on close), and an unheard 'error' kills the process
    client.on('error', (err: Error & { level?: string }) => {
      settle();
      client.end();
      if (hostKeyProblem) return reject(hostKeyProblem);
      if (authProblem) return reject(authProblem);
      const auth = err.level === 'client-authentication';
      reject(
        new ConnectionError(hopName, auth ? `authentication failed for user ${username}` : socketError(err), {
          cause: err,
          code: auth ? 'E_AUTH' : 'E_UNREACHABLE',
        }),
      );
    });
    // a host that closes after its version line and before the login, without a word (LoginGraceTime
    // running out, a proxy whose backend drops): ssh2 says nothing then, and the run would wait forever
    client.once('close', () => {
      settle();
      reject(new ConnectionError(hopName, 'Connection lost before handshake', { code: 'E_UNREACHABLE' }));
    });
    client.connect(config);
    // Nagle would hold our NEWKEYS and SERVICE_REQUEST apart until sshd acknowledges the
    // first, which Linux delays by up to 40 ms: every packet we send is a request anyway
    client.setNoDelay(true);
    awaitAnnouncement(client);
    const transport = transportOf(client);
    if (meter && transport) {
      meter.attach(transport, tcp);
      meter.watchKeepalives(client);
    }
    if (transport) {
      const silenceMs = opts.silenceMs ?? opts.connectTimeoutMs;
      watch = watchSilence(transport, silenceMs, () => {
        client.end();
        reject(new ConnectionError(hopName, `Timed out while waiting for handshake: no answer for ${silenceMs / 1000} s`, { code: 'E_UNREACHABLE' }));
      });
    }
  });
}

/**
 * OpenSSH announces all its host keys once logged in (hostkeys-00@openssh.com,
 * no reply wanted), and ssh2 answers by asking the host to prove it holds each
 * (hostkeys-prove-00): the host signs with every key, RSA-4096 among them, and
 * one more round trip goes on the wire, for keys nothing here uses (known_hosts
 * is written only on accept-new, with the key the handshake verified). OpenSSH's
 * own client asks only under UpdateHostKeys, for keys it does not know yet. So
 * the announcement is dropped; anything else reaches ssh2 as before. It reaches
 * into ssh2's protocol handlers (1.17): where they are not found, nothing changes
 * (test/unit/connections/ssh-hostkeys.test.ts fails then).
 */
export function ignoreHostKeyAnnouncements(client: Client, onAnnounced: () => void = () => {}): boolean {
  const handlers = (client as unknown as { _protocol?: { _handlers?: Record<string, unknown> } })._protocol?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof original !== 'function') return false;
  handlers.GLOBAL_REQUEST = (p: unknown, name: string, wantReply: boolean, data: unknown): unknown => {
    if (name !== 'hostkeys-00@openssh.com' || wantReply) return (original as (...a: unknown[]) => unknown)(p, name, wantReply, data);
    onAnnounced();
    return undefined;
  };
  return true;
}

/** OpenSSH 6.8 and later announce their host keys once the login is done. */
const ANNOUNCES_KEYS = /^OpenSSH_(?:[7-9]|[1-9][0-9]|6\.(?:[89]|[1-9][0-9]))/;
/** How long the first channel waits for that announcement: longer only when sshd's own setup is slower. */
export const ANNOUNCEMENT_WAIT_MS = 250;
const announced = new WeakMap<Client, Promise<void>>();

/**
 * OpenSSH sends its host-key announcement (and its debug lines) in one TCP segment
 * a few tens of ms after the login, once its session setup is done. A channel opened
 * before that segment arrives is answered in the next one, which sshd's Nagle holds
 * until we acknowledge the first, and Linux delays that acknowledgement by up to
 * 40 ms. So the first channel of a connection waits for the announcement (at most
 * ANNOUNCEMENT_WAIT_MS after the login): its request carries the acknowledgement,
 * and the answer comes at once. Other servers are not waited for. Called right
 * after connect(), when ssh2's handlers exist.
 */
export function awaitAnnouncement(client: Client): void {
  let arrived = false;
  let wake = (): void => {
    arrived = true;
  };
  ignoreHostKeyAnnouncements(client, () => wake());
  client.once('ready', () => {
    const software = (client as unknown as { _remoteVer?: string })._remoteVer ?? '';
    if (arrived || !ANNOUNCES_KEYS.test(software)) return;
    announced.set(
      client,
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ANNOUNCEMENT_WAIT_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    );
  });
}

/** Settles once the host's post-login announcement is in, or is not waited for (see awaitAnnouncement). */
export function announcement(client: Client): Promise<void> {
  return announced.get(client) ?? Promise.resolve();
}

function openChannel(client: Client, open: () => void): void {
  void announcement(client).then(open);
}

function quoteName(s: string): string {
  return /^[\w.:[\]-]+$/.test(s) ? `'${s}'` : JSON.stringify(s);
}

function forward(client: Client, host: string, port: number, name: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    openChannel(client, () =>
      client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        if (err) reject(new ConnectionError(name, `jump host cannot reach ${host}:${port}: ${err.message}`, { cause: err }));
        else resolve(stream);
      }),
    );
  });
}

/** Every jump host connection of this process, shared by the targets behind it. */
const hopPool = new HopPool<Client>();

/** What makes two connections' hop the same one: the chain up to it and how it is authenticated and verified. */
function hopKey(opts: SshOptions, chain: readonly SshHop[]): string {
  const hops = chain.map((h) => [h.host, h.port, h.user ?? opts.user ?? '', h.identityFile ?? opts.identityFile ?? '']);
  return JSON.stringify([hops, opts.knownHostsFile ?? '', opts.hostKeyPolicy, opts.agent ?? '', opts.passphrase ?? '']);
}

async function connectChain(opts: SshOptions, meter?: TurnMeter): Promise<{ client: Client; release: () => void; hostKey: Buffer | undefined; auth: AuthUsed }> {
  const held: (() => void)[] = [];
  const release = () => {
    for (const letGo of held.reverse()) letGo();
  };
  try {
    // each hop is reached through a channel forwarded by the previous one; the target through the last
    let prev: Client | undefined;
    const jump = opts.jump ?? [];
    for (const [i, hop] of jump.entries()) {
      const key = hopKey(opts, jump.slice(0, i + 1));
      const via = prev;
      const hopConn = await hopPool.acquire(key, async () => {
        const sock = via ? await forward(via, hop.host, hop.port, opts.name) : undefined;
        return (await connectHop(opts, hop, `jump host ${hop.host}:${hop.port}`, sock)).client;
      });
      held.push(hopConn.release);
      prev = hopConn.client;
    }
    const sock = prev ? await forward(prev, opts.host, opts.port, opts.name) : undefined;
    let hostKey: Buffer | undefined;
    const { client, auth } = await connectHop(opts, opts, opts.name, sock, (k) => (hostKey = k), meter);
    return { client, release, hostKey, auth };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * Counts network round trips for real, on the transport under ssh2 (the TCP
 * socket, or the forwarded channel of a jump host): a turn starts each time we
 * send after having received something since our last send. The first send
 * counts, and a direct TCP connect adds one for the SYN/SYN-ACK. A latency proxy
 * that counts the same direction changes (bench/latency-proxy.ts) is the ground
 * truth this is checked against. Non-blocking replies (e.g. our CHANNEL_CLOSE
 * answering the server's) are counted too, as they are turns on the wire.
 * Those a keepalive opened (ssh2 sends one every 15 s of a session, e.g. while a
 * long batch runs) are counted apart as well, unless one of our own sends went out
 * in the same turn: nothing waits on them.
 */
export class TurnMeter {
  turns = 0;
  keepaliveTurns = 0;
  private received = true;
  private pinging = false;
  /** The current turn was opened by a keepalive, and nothing of ours went out in it yet. */
  private keepaliveTurn = false;

  /**
   * Tell the keepalives apart: wraps ssh2's `_protocol.ping` (1.17), which
   * writes the keepalive request at once. False where it is not found
   * (test/unit/connections/ssh-hostkeys.test.ts fails then).
   */
  watchKeepalives(client: Client): boolean {
    const proto = (client as unknown as { _protocol?: { ping?: () => void } })._protocol;
    const ping = proto?.ping;
    if (!proto || typeof ping !== 'function') return false;
    proto.ping = () => {
      this.pinging = true;
      try {
        ping.call(proto);
      } finally {
        this.pinging = false;
      }
    };
    return true;
  }

  attach(sock: Duplex, tcp: boolean): void {
    if (tcp) this.turns++;
    const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
    (sock as { write: (...args: unknown[]) => boolean }).write = (...args: unknown[]) => {
      if (this.received) {
        this.turns++;
        if (this.pinging) this.keepaliveTurns++;
        this.keepaliveTurn = this.pinging;
        this.received = false;
      } else if (this.keepaliveTurn && !this.pinging) {
        // our own send went out in the turn a keepalive opened: a turn we waited on after all
        this.keepaliveTurns--;
        this.keepaliveTurn = false;
      }
      return write(...args);
    };
    sock.on('data', () => {
      this.received = true;
    });
  }
}

/** A growable byte buffer with O(n) appends, for framing command output. */
class ByteBuf {
  private buf = Buffer.allocUnsafe(4096);
  len = 0;

  push(d: Buffer): void {
    if (this.len + d.length > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + d.length));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    d.copy(this.buf, this.len);
    this.len += d.length;
  }

  indexOf(needle: Buffer, from: number): number {
    const i = this.buf.subarray(0, this.len).indexOf(needle, Math.max(0, from));
    return i;
  }

  slice(a: number, b: number): Buffer {
    return Buffer.from(this.buf.subarray(a, b));
  }

  /** Drop the first n bytes. */
  drop(n: number): void {
    this.buf.copy(this.buf, 0, n, this.len);
    this.len -= n;
    if (this.len === 0 && this.buf.length > 1 << 20) this.buf = Buffer.allocUnsafe(4096);
  }
}

/** Output of one stream (stdout or stderr) of the command running in the shell, between its markers. */
class Framed {
  private begun = false;
  private scanned = 0;
  body: Buffer | undefined;
  /** Exit code text after the end marker (stdout only). */
  rc: string | undefined;

  constructor(
    private readonly begin: Buffer,
    private readonly end: Buffer,
    private readonly withRc: boolean,
  ) {}

  /** Consume what belongs to this command from `b`; true when complete. */
  feed(b: ByteBuf): boolean {
    if (this.body) return true;
    if (!this.begun) {
      const i = b.indexOf(this.begin, 0);
      if (i < 0) {
        // stray output (e.g. of a background process of an earlier command): drop all but a possible marker prefix
        if (b.len > this.begin.length) b.drop(b.len - this.begin.length);
        return false;
      }
      b.drop(i + this.begin.length);
      this.begun = true;
      this.scanned = 0;
    }
    const j = b.indexOf(this.end, this.scanned - this.end.length);
    if (j < 0) {
      this.scanned = b.len;
      return false;
    }
    // stderr's end marker already ends with the newline; stdout's is followed by the exit code and one
    const nl = this.withRc ? b.indexOf(NL, j + this.end.length) : j + this.end.length - 1;
    if (nl < 0) return false;
    this.body = b.slice(0, j);
    if (this.withRc) this.rc = b.slice(j + this.end.length, nl).toString('latin1').trim();
    b.drop(nl + 1);
    return true;
  }
}

const NL = Buffer.from('\n');
/** Stdin above this size is streamed over its own channel instead of a base64 heredoc. */
const SHELL_STDIN_MAX = 4 << 20;

interface InShell {
  out: Framed;
  err: Framed;
  noB64: Buffer;
  done: (r: ExecResult | 'no-base64' | Error) => void;
}

/** Sets the shell the commands run with (the login shell, as sshd's exec would). */
const PRELUDE = '__pv_sh=${SHELL:-/bin/sh}\n';
/**
 * A first command rides in the exec request that starts the shell when that
 * request's command, quoted as it is sent, fits in this: sshd runs it as one
 * argv string of the login shell, which Linux caps at 128 KiB (MAX_ARG_STRLEN,
 * NUL included).
 */
const INLINE_MAX = 120 << 10;
/** The exec request that starts the shell, running `first` in it first. */
const shellCommand = (first?: ReturnType<typeof frame>): string =>
  first ? `exec /bin/sh -c ${quote(`${PRELUDE}${first.text}exec /bin/sh\n`)}` : 'exec /bin/sh';

/**
 * One command framed for the shell: the text to send, and how its output is
 * recognised. A user's command runs in a fresh login shell, as sshd's exec would
 * run it; a `script` of ours in a subshell of this `/bin/sh` (eval keeps a syntax
 * error of the script inside the subshell, where it is the command's exit code).
 */
function frame(command: string, stdin: Buffer | undefined, done: InShell['done'], script = false): { text: string; current: InShell } {
  const nonce = randomBytes(9).toString('hex');
  const b = Buffer.from(`__PVB_${nonce}\n`);
  const shell = script ? `( eval ${quote(command)} )` : `"$__pv_sh" -c ${quote(command)}`;
  let run: string;
  if (stdin === undefined) {
    run = `${shell} </dev/null`;
  } else {
    const b64 = stdin.toString('base64').replace(/.{1,76}/g, '$&\n');
    run =
      `if command -v base64 >/dev/null 2>&1; then base64 -d <<'__PVI_${nonce}' | ${shell}\n${b64}__PVI_${nonce}\n` +
      `else printf '__PVE_%s nob64\\n' ${nonce}; fi`;
  }
  const text =
    `printf '__PVB_%s\\n' ${nonce}; printf '__PVB_%s\\n' ${nonce} >&2\n` +
    `${run}\n__pv=$?; printf '__PVE_%s %s\\n' ${nonce} "$__pv"; printf '__PVE_%s\\n' ${nonce} >&2\n`;
  const current = { out: new Framed(b, Buffer.from(`__PVE_${nonce} `), true), err: new Framed(b, Buffer.from(`__PVE_${nonce}\n`), false), noB64: Buffer.from(`__PVE_${nonce} nob64`), done };
  return { text, current };
}

/**
 * One long-lived `/bin/sh` per host that runs the commands one after another:
 * each command is one write and one answer, instead of opening a channel
 * (channel open + exec request: two more round trips). Each command runs in a
 * fresh `$SHELL -c` like sshd's exec would (a batch of fact reads: in a subshell,
 * see frame), with stdin from a base64 heredoc
 * (never argv) or /dev/null; its output is framed by markers carrying a random
 * nonce per command, so output cannot forge the frame. The first command
 * travels in the exec request that starts the shell: its answer comes back in
 * the round trip of the request.
 */
class RemoteShell {
  private readonly out = new ByteBuf();
  private readonly err = new ByteBuf();
  private current: InShell | undefined;
  dead = false;
  private prelude = true;

  constructor(private readonly stream: ClientChannel) {
    stream.on('data', (d: Buffer) => {
      this.out.push(d);
      this.pump();
    });
    stream.stderr.on('data', (d: Buffer) => {
      this.err.push(d);
      this.pump();
    });
    stream.on('close', () => {
      this.dead = true;
      const c = this.current;
      this.current = undefined;
      c?.done(new Error('the remote shell ended while running the command'));
    });
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Start the shell; with `first`, its exec request (shellCommand) running that command first (it ends by starting a fresh shell, so the prelude is sent again). */
  static open(client: Client, first?: { framed: ReturnType<typeof frame>; command: string }): Promise<RemoteShell> {
    const command = first?.command ?? shellCommand();
    return new Promise((resolve, reject) => {
      openChannel(client, () =>
        client.exec(command, (err, stream) => {
          if (err) return reject(err);
          const shell = new RemoteShell(stream);
          shell.current = first?.framed.current;
          resolve(shell);
        }),
      );
    });
  }

  run(f: ReturnType<typeof frame>): void {
    const text = (this.prelude ? PRELUDE : '') + f.text;
    this.prelude = false;
    this.current = f.current;
    this.stream.write(text);
  }

  /** Give up on the running command: the shell is closed (a new one is opened when needed). */
  abort(): void {
    this.dead = true;
    this.current = undefined;
    this.stream.close();
  }

  private pump(): void {
    const c = this.current;
    if (!c) {
      // nothing running: whatever arrives is stray output of an earlier command's background process
      return;
    }
    const outDone = c.out.feed(this.out);
    const errDone = c.err.feed(this.err);
    if (outDone && c.out.rc === 'nob64') {
      this.current = undefined;
      return c.done('no-base64');
    }
    if (!outDone || !errDone) return;
    this.current = undefined;
    const code = Number(c.out.rc);
    c.done({
      stdout: c.out.body!.toString('utf8'),
      stderr: c.err.body!.toString('utf8'),
      code: Number.isInteger(code) ? code : null,
    });
  }
}

/** ssh2 keeps its transport (the TCP socket, or the forwarded channel) here. */
function transportOf(client: Client): Duplex | undefined {
  return (client as unknown as { _sock?: Duplex })._sock;
}

/** How long close() waits for the host to close the socket after our disconnect. */
const CLOSE_WAIT_MS = 1000;

export class SshConnection implements Connection {
  readonly kind = 'ssh' as const;
  readonly stats: ConnectionStats = { commands: 0, roundTrips: 0, authRoundTrips: 0, keepaliveRoundTrips: 0, bytesIn: 0, bytesOut: 0 };
  private closed = false;
  /** The socket has closed (ssh2's 'close'). */
  private ended = false;
  private lost: ConnectionError | undefined;
  private shell: RemoteShell | undefined;
  private shellOpening: Promise<RemoteShell | undefined> | undefined;
  private noBase64 = false;
  /** Run commands in one long-lived shell (default); false: one channel per command, as before. */
  useShell = process.env.PROVISION_SSH_SHELL !== '0';

  private constructor(
    readonly name: string,
    private readonly client: Client,
    /** Lets go of the jump hosts this connection goes through. */
    private readonly releaseHops: () => void,
    /** The verified host key blob of the target. */
    readonly hostKey: Buffer | undefined,
    meter: TurnMeter,
    /** How this connection logged in (the lockout pre-flight must not remove it). */
    readonly auth: AuthUsed,
  ) {
    client.on('close', () => {
      this.ended = true;
      if (!this.closed) this.lost = new ConnectionError(name, 'connection lost');
    });
    client.on('error', (err) => {
      this.lost = new ConnectionError(name, `connection lost: ${err.message}`, { cause: err });
    });
    Object.defineProperty(this.stats, 'roundTrips', { enumerable: true, get: () => meter.turns });
    Object.defineProperty(this.stats, 'keepaliveRoundTrips', { enumerable: true, get: () => meter.keepaliveTurns });
    this.stats.authRoundTrips = meter.turns;
  }

  static async connect(opts: SshOptions): Promise<SshConnection> {
    const attempts = opts.attempts ?? 5;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const meter = new TurnMeter();
        const { client, release, hostKey, auth } = await connectChain(opts, meter);
        return new SshConnection(opts.name, client, release, hostKey, meter, auth);
      } catch (err) {
        lastErr = err;
        const message = errorMessage(err);
        const transient = err instanceof ConnectionError && err.code === 'E_UNREACHABLE' && TRANSIENT.test(message);
        // a silent host costs a full timeout per try: once more is enough
        const limit = /Timed out/i.test(message) ? Math.min(attempts, 2) : attempts;
        if (!transient || attempt >= limit) break;
        // sshd's MaxStartups drops connections at random when many arrive at once: back off with
        // jitter so the retries of 100 hosts do not arrive together again
        await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1) + Math.random() * 400));
      }
    }
    throw lastErr;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.lost) throw this.lost;
    if (this.closed) throw new ConnectionError(this.name, 'connection is closed');
    const stdin = options.stdin === undefined ? undefined : Buffer.isBuffer(options.stdin) ? options.stdin : Buffer.from(options.stdin);
    const shellable = this.useShell && !command.includes('\0') && (stdin === undefined || (!this.noBase64 && stdin.length <= SHELL_STDIN_MAX));
    if (shellable && !this.shell?.busy) {
      const res = await this.execInShell(command, stdin, options);
      if (res !== 'no-base64' && res !== undefined) return res;
      if (res === 'no-base64') this.noBase64 = true;
    }
    return this.execChannel(command, options);
  }

  /**
   * The shell, opened when there is none: with `first` riding in its exec
   * request when small enough (then `sent` says it went).
   */
  private openShell(first?: ReturnType<typeof frame>): Promise<{ shell: RemoteShell; sent: boolean } | undefined> {
    if (this.shell && !this.shell.dead) return Promise.resolve({ shell: this.shell, sent: false });
    if (this.shellOpening) return this.shellOpening.then((shell) => shell && { shell, sent: false });
    const command = first ? shellCommand(first) : undefined;
    const inline = first && command !== undefined && Buffer.byteLength(command) <= INLINE_MAX ? { framed: first, command } : undefined;
    const opening = RemoteShell.open(this.client, inline).then(
      (s) => {
        this.shellOpening = undefined;
        this.shell = s;
        return s;
      },
      () => {
        // no shell (e.g. a forced command): one channel per command
        this.shellOpening = undefined;
        this.useShell = false;
        return undefined;
      },
    );
    this.shellOpening = opening;
    return opening.then((shell) => shell && { shell, sent: inline !== undefined });
  }

  /**
   * One command's promise settles once: by its result, its timeout, or the loss of
   * the connection (watched only while the command runs).
   */
  private settleOnce(reject: (err: unknown) => void): { finish: (fn: () => void) => void; setTimer: (fn: () => void, ms: number) => void } {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      this.client.off('close', onLost);
      fn();
    };
    const onLost = () => finish(() => reject(this.lost ?? new ConnectionError(this.name, 'connection lost')));
    this.client.once('close', onLost);
    return { finish, setTimer: (fn, ms) => (timer = setTimeout(fn, ms)) };
  }

  /** Run in the shell (opening it, with this command inline, when there is none); undefined: no shell to run in. */
  private execInShell(command: string, stdin: Buffer | undefined, { timeoutMs, script }: ExecOptions): Promise<ExecResult | 'no-base64' | undefined> {
    return new Promise((resolve, reject) => {
      const { finish, setTimer } = this.settleOnce(reject);
      const done: InShell['done'] = (r) => {
        if (r instanceof Error) {
          // the shell ended: the connection may be going away; decide once its close event had a chance to run
          setImmediate(() => finish(() => (this.lost ? reject(this.lost) : resolve({ stdout: '', stderr: `${r.message}\n`, code: null }))));
          return;
        }
        if (r !== 'no-base64') this.stats.bytesIn += Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr);
        finish(() => resolve(r));
      };
      const framed = frame(command, stdin, done, script);
      // stdin (a sudo password among it) never rides in the exec request: that would put it in the remote argv
      void this.openShell(stdin === undefined ? framed : undefined).then((opened) => {
        if (!opened || (!opened.sent && (opened.shell.busy || opened.shell.dead))) return finish(() => resolve(undefined));
        this.stats.commands++;
        this.stats.bytesOut += stdin?.length ?? 0;
        if (timeoutMs) {
          setTimer(() => {
            finish(() => reject(new TimeoutError(command, timeoutMs)));
            opened.shell.abort();
          }, timeoutMs);
        }
        if (!opened.sent) opened.shell.run(framed);
      }, (err: unknown) => finish(() => reject(err)));
    });
  }

  private execChannel(command: string, options: ExecOptions): Promise<ExecResult> {
    this.stats.commands++;
    return new Promise((resolve, reject) => {
      const { finish, setTimer } = this.settleOnce(reject);
      openChannel(this.client, () =>
        this.client.exec(command, (err, stream) => {
          if (err) return finish(() => reject(new ConnectionError(this.name, `cannot open a channel: ${err.message}`, { cause: err })));
          const out: Buffer[] = [];
          const errs: Buffer[] = [];
          stream.on('data', (d: Buffer) => {
            this.stats.bytesIn += d.length;
            out.push(d);
          });
          stream.stderr.on('data', (d: Buffer) => {
            this.stats.bytesIn += d.length;
            errs.push(d);
          });
          stream.on('close', (code: number | null | undefined) => {
            finish(() =>
              resolve({
                stdout: Buffer.concat(out).toString('utf8'),
                stderr: Buffer.concat(errs).toString('utf8'),
                code: typeof code === 'number' ? code : null,
              }),
            );
          });
          if (options.timeoutMs) {
            setTimer(() => {
              finish(() => reject(new TimeoutError(command, options.timeoutMs!)));
              stream.close();
            }, options.timeoutMs);
          }
          if (options.stdin !== undefined) {
            this.stats.bytesOut += Buffer.byteLength(options.stdin);
            stream.end(options.stdin);
          } else {
            stream.end();
          }
        }),
      );
    });
  }

  /**
   * Ends the session (the disconnect is written at once) and resolves when the socket
   * has closed: the run reports meanwhile and returns after (runner.ts). A host that
   * has not closed it CLOSE_WAIT_MS after our disconnect gets the socket destroyed:
   * left open, it kept the process from ever exiting.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ended = this.ended
      ? undefined
      : new Promise<void>((resolve) => {
          // ssh2's own destroy() does nothing once the socket is ended, which end() just did
          const timer = setTimeout(() => {
            transportOf(this.client)?.destroy();
            resolve();
          }, CLOSE_WAIT_MS);
          this.client.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
    this.client.end();
    this.releaseHops();
    await ended;
  }
}

export function connectSsh(opts: SshOptions): Promise<SshConnection> {
  return SshConnection.connect(opts);
}
