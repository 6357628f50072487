/**
 * SSH connection over ssh2: one TCP connection per host for the whole run,
 * one channel per command. Host keys are checked against known_hosts files;
 * jump hosts are chained with `forwardOut`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import ssh2, { type AuthenticationType, type Client as ClientType, type ConnectConfig, type ParsedKey } from 'ssh2';
import { ConnectionError, HostKeyError, TimeoutError, errorMessage } from '../core/errors.js';
import type { Connection, ConnectionStats, ExecOptions, ExecResult } from './types.js';
// ssh2 is CommonJS: its named exports are not visible to Node's ESM loader
const { Client, utils } = ssh2;
type Client = ClientType;

import {
  appendKnownHost,
  findKnownKeys,
  fingerprint,
  judgeHostKey,
  knownHostName,
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
  /** Connect attempts for transient network errors (default 3). */
  attempts?: number;
  /** ssh-agent socket (default: SSH_AUTH_SOCK). */
  agent?: string;
  /**
   * A host key already verified on another connection to this host (sshd moved
   * port): accepted and recorded in known_hosts for the new address.
   */
  trustKey?: Buffer;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function loadKey(name: string, file: string, passphrase: string | undefined): ParsedKey {
  let data: Buffer;
  try {
    data = readFileSync(expandHome(file));
  } catch (err) {
    throw new ConnectionError(name, `cannot read identity file ${file}: ${errorMessage(err)}`, { cause: err, code: 'E_AUTH' });
  }
  const parsed = utils.parseKey(data, passphrase);
  if (parsed instanceof Error) {
    const hint = /encrypted|passphrase/i.test(parsed.message) ? ' (set passphrase_env in the inventory to the variable holding its passphrase)' : '';
    throw new ConnectionError(name, `cannot use identity file ${file}: ${parsed.message}${hint}`, { cause: parsed, code: 'E_AUTH' });
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key) throw new ConnectionError(name, `identity file ${file} holds no key`, { code: 'E_AUTH' });
  return key;
}

/** The ordered list of authentication attempts ssh2 should make. */
function authMethods(name: string, opts: SshHop & { passphrase?: string; password?: string; agent?: string }, username: string) {
  type Method =
    | { type: 'agent'; username: string; agent: string }
    | { type: 'publickey'; username: string; key: ParsedKey }
    | { type: 'password'; username: string; password: string };
  const methods: Method[] = [];
  if (opts.identityFile) {
    methods.push({ type: 'publickey', username, key: loadKey(name, opts.identityFile, opts.passphrase) });
  } else {
    if (opts.agent) methods.push({ type: 'agent', username, agent: opts.agent });
    for (const k of DEFAULT_KEYS) {
      const file = join(homedir(), '.ssh', k);
      if (!existsSync(file)) continue;
      const parsed = utils.parseKey(readFileSync(file), opts.passphrase);
      if (!(parsed instanceof Error)) {
        const key = Array.isArray(parsed) ? parsed[0] : parsed;
        if (key) methods.push({ type: 'publickey', username, key });
      }
    }
  }
  if (opts.password !== undefined) methods.push({ type: 'password', username, password: opts.password });
  return methods;
}

const TRANSIENT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Timed out while waiting for handshake|socket hang up/i;

function connectHop(
  opts: SshOptions,
  hop: SshHop,
  hopName: string,
  sock: Duplex | undefined,
  onHostKey: (blob: Buffer) => void = () => {},
): Promise<Client> {
  const username = hop.user ?? opts.user ?? userInfo().username;
  const knownFiles = [join(homedir(), '.ssh', 'known_hosts'), ...(opts.knownHostsFile ? [expandHome(opts.knownHostsFile)] : [])];
  const khName = knownHostName(hop.host, hop.port);
  const known = findKnownKeys(readKnownHosts(knownFiles), khName);
  const preferred = knownTypes(known).flatMap((t) => (t === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [t]));
  const methods = authMethods(hopName, { ...hop, passphrase: opts.passphrase, password: hop === opts ? opts.password : undefined, agent: opts.agent ?? process.env.SSH_AUTH_SOCK, identityFile: hop.identityFile ?? opts.identityFile }, username);
  if (methods.length === 0) {
    return Promise.reject(
      new ConnectionError(hopName, 'no way to authenticate: set identity_file, run an ssh-agent, or give password_env in the inventory', { code: 'E_AUTH' }),
    );
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
    let hostKeyProblem: ConnectionError | undefined;
    const config: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username,
      readyTimeout: opts.connectTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      authHandler: methods as unknown as AuthenticationType[],
      hostVerifier: (blob: Buffer) => {
        onHostKey(blob);
        const verdict = judgeHostKey(known, blob);
        const fp = fingerprint(blob);
        if (verdict.kind === 'known') return true;
        if (verdict.kind === 'unknown' && hop === opts && opts.trustKey?.equals(blob)) {
          appendKnownHost(opts.knownHostsFile ? expandHome(opts.knownHostsFile) : knownFiles[0]!, khName, blob);
          return true;
        }
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
        if (opts.hostKeyPolicy === 'accept-new') {
          appendKnownHost(opts.knownHostsFile ? expandHome(opts.knownHostsFile) : knownFiles[0]!, khName, blob);
          return true;
        }
        hostKeyProblem = new HostKeyError(
          hopName,
          `unknown host key for ${khName} (${fp}); verify it and add it to known_hosts (ssh-keyscan -p ${hop.port} ${hop.host}), or set host_key_policy: accept-new`,
          fp,
        );
        return false;
      },
      // offer the key types known_hosts has for this host first (ssh2's prepend skips listed ones, so remove them first)
      ...(preferred.length ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred } as never } } : {}),
      ...(sock ? { sock } : {}),
    };
    client.once('ready', () => resolve(client));
    // on, not once: ssh2 can emit a second error for the same failure (ECONNRESET, then
    // "Connection lost before handshake" on close), and an unheard 'error' kills the process
    client.on('error', (err: Error & { level?: string }) => {
      client.end();
      if (hostKeyProblem) return reject(hostKeyProblem);
      const auth = err.level === 'client-authentication';
      reject(
        new ConnectionError(hopName, auth ? `authentication failed for user ${username}` : err.message, {
          cause: err,
          code: auth ? 'E_AUTH' : 'E_UNREACHABLE',
        }),
      );
    });
    client.connect(config);
  });
}

function quoteName(s: string): string {
  return /^[\w.:[\]-]+$/.test(s) ? `'${s}'` : JSON.stringify(s);
}

function forward(client: Client, host: string, port: number, name: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) reject(new ConnectionError(name, `jump host cannot reach ${host}:${port}: ${err.message}`, { cause: err }));
      else resolve(stream);
    });
  });
}

async function connectChain(opts: SshOptions): Promise<{ client: Client; hops: Client[]; hostKey: Buffer | undefined }> {
  const hops: Client[] = [];
  try {
    // each hop is reached through a channel forwarded by the previous one; the target through the last
    let prev: Client | undefined;
    for (const hop of opts.jump ?? []) {
      const sock = prev ? await forward(prev, hop.host, hop.port, opts.name) : undefined;
      prev = await connectHop(opts, hop, `${opts.name} (via ${hop.host}:${hop.port})`, sock);
      hops.push(prev);
    }
    const sock = prev ? await forward(prev, opts.host, opts.port, opts.name) : undefined;
    let hostKey: Buffer | undefined;
    const client = await connectHop(opts, opts, opts.name, sock, (k) => (hostKey = k));
    return { client, hops, hostKey };
  } catch (err) {
    for (const h of hops) h.end();
    throw err;
  }
}

export class SshConnection implements Connection {
  readonly kind = 'ssh' as const;
  readonly stats: ConnectionStats = { commands: 0, roundTrips: 0, bytesIn: 0, bytesOut: 0 };
  private closed = false;
  private lost: ConnectionError | undefined;

  private constructor(
    readonly name: string,
    private readonly client: Client,
    private readonly hops: Client[],
    /** The verified host key blob of the target. */
    readonly hostKey: Buffer | undefined,
  ) {
    client.on('close', () => {
      if (!this.closed) this.lost = new ConnectionError(name, 'connection lost');
    });
    client.on('error', (err) => {
      this.lost = new ConnectionError(name, `connection lost: ${err.message}`, { cause: err });
    });
  }

  static async connect(opts: SshOptions): Promise<SshConnection> {
    const attempts = opts.attempts ?? 3;
    let lastErr: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const { client, hops, hostKey } = await connectChain(opts);
        const conn = new SshConnection(opts.name, client, hops, hostKey);
        // TCP + version exchange + key exchange + auth: about four round trips per hop
        conn.stats.roundTrips += 4 * (1 + hops.length);
        return conn;
      } catch (err) {
        lastErr = err;
        const transient = err instanceof ConnectionError && err.code === 'E_UNREACHABLE' && TRANSIENT.test(errorMessage(err));
        if (!transient || attempt === attempts) break;
        await new Promise((r) => setTimeout(r, 250 * 4 ** (attempt - 1)));
      }
    }
    throw lastErr;
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    if (this.lost) return Promise.reject(this.lost);
    if (this.closed) return Promise.reject(new ConnectionError(this.name, 'connection is closed'));
    this.stats.commands++;
    this.stats.roundTrips += 2; // channel open, exec request (+ output, which rides on the same trip)
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const onLost = () => finish(() => reject(this.lost ?? new ConnectionError(this.name, 'connection lost')));
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.client.off('close', onLost);
        fn();
      };
      this.client.once('close', onLost);
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
          timer = setTimeout(() => {
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
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
    for (const h of this.hops.reverse()) h.end();
  }
}

export function connectSsh(opts: SshOptions): Promise<SshConnection> {
  return SshConnection.connect(opts);
}
