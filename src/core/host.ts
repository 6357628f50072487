/**
 * One host during a run: its connection, its gathered facts, the per-host fact
 * cache, and command execution with sudo wrapping. All remote I/O of the runner
 * goes through here.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, ExecResult } from '../connections/types.js';
import type { HostFacts } from '../contract/host-facts.js';
import { hostFacts } from '../facts/host.js';
import type { FactRequest } from '../contract/fact.js';
import { sudoNoise, wrapBecome } from './become.js';
import { CommandError, FactError, errorMessage } from '../contract/errors.js';
import { quote } from '../contract/quote.js';

export interface RunAs {
  become: boolean;
  becomeUser: string;
}

export interface ExecRequest extends RunAs {
  stdin?: string;
  timeoutMs?: number;
  /** How long after the remote timeout the local side gives up (default 10 s). */
  graceMs?: number;
}

export class HostSession {
  private readonly cache = new Map<string, unknown>();
  facts!: HostFacts;
  /** The sshd port on the host side our access goes through (moves when a play changes Port). */
  accessPort = 22;

  constructor(
    readonly name: string,
    public connection: Connection,
    private readonly becomePassword: string | undefined,
  ) {}

  /** A session on another connection to the same host, sharing the gathered facts. */
  sibling(connection: Connection): HostSession {
    const s = new HostSession(this.name, connection, this.becomePassword);
    s.facts = this.facts;
    s.accessPort = this.accessPort;
    return s;
  }

  /** Continue on `connection` (e.g. after sshd moved port); returns the old one. */
  swap(connection: Connection): Connection {
    const old = this.connection;
    this.connection = connection;
    this.cache.clear();
    return old;
  }

  /** Gather the host facts: one round trip. */
  async gather(): Promise<HostFacts> {
    const res = await this.connection.exec(hostFacts.command(null));
    this.facts = hostFacts.parse(res.stdout, null, res.code ?? -1);
    if (this.facts.ssh) this.accessPort = this.facts.ssh.serverPort;
    return this.facts;
  }

  /** Run a command as the task says (sudo when become), with an optional remote timeout. */
  async exec(command: string, req: ExecRequest): Promise<ExecResult> {
    const timed = req.timeoutMs ? `timeout -k 5 ${Math.ceil(req.timeoutMs / 1000)} /bin/sh -c ${quote(command)}` : command;
    const wrapped = wrapBecome(timed, {
      become: req.become,
      user: req.becomeUser,
      connectedAs: this.facts?.user ?? '',
      noPassword: this.facts?.sudoNoPassword ?? false,
      password: this.becomePassword,
    });
    const stdin = wrapped.stdinPrefix || req.stdin !== undefined ? wrapped.stdinPrefix + (req.stdin ?? '') : undefined;
    // the local timeout is a safety net behind the remote one
    const raw = await this.connection.exec(wrapped.command, {
      ...(stdin !== undefined ? { stdin } : {}),
      ...(req.timeoutMs ? { timeoutMs: req.timeoutMs + (req.graceMs ?? 10_000) } : {}),
    });
    const res = wrapped.stdinPrefix ? { ...raw, stderr: sudoNoise(raw.stderr) } : raw;
    if (req.become && res.code === 1 && /sudo: (a password is required|a terminal is required)/.test(res.stderr)) {
      throw new CommandError(command, res.code, res.stderr, `become: sudo on ${this.name} needs a password; set become_password_env in the inventory`);
    }
    if (req.become && /sudo: .*incorrect password|Sorry, try again/.test(res.stderr)) {
      throw new CommandError(command, res.code, res.stderr, `become: sudo on ${this.name} refused the become password`);
    }
    if (req.timeoutMs && res.code === 124) throw new CommandError(command, res.code, res.stderr, `timed out after ${req.timeoutMs / 1000} s`);
    return res;
  }

  private cacheKey(id: string, as: RunAs): string {
    return as.become ? `${as.becomeUser}|${id}` : `-|${id}`;
  }

  /** Read every requested fact not cached yet in ONE round trip; return all values by request id. */
  async readFacts(requests: readonly FactRequest[], as: RunAs): Promise<Map<string, unknown>> {
    const missing = [...new Map(requests.filter((r) => !this.cache.has(this.cacheKey(r.id, as))).map((r) => [r.id, r])).values()];
    if (missing.length > 0) {
      const nonce = randomBytes(6).toString('hex');
      const script = missing
        .map((r, i) => `printf '%s\\n' '__PF_${nonce}_${i}'\n( ${r.command}\n) </dev/null\nprintf '\\n__PF_${nonce}_${i}_rc=%s\\n' "$?"`)
        .join('\n');
      const res = await this.exec(script, as);
      missing.forEach((r, i) => {
        const begin = `__PF_${nonce}_${i}\n`;
        const endRe = new RegExp(`\\n__PF_${nonce}_${i}_rc=(\\d+)\\n`);
        const b = res.stdout.indexOf(begin);
        const m = endRe.exec(res.stdout);
        if (b < 0 || !m) throw new FactError(r.fact.name, `no output from the host (exit ${res.code}): ${res.stderr.trim() || 'no stderr'}`);
        const body = res.stdout.slice(b + begin.length, m.index);
        try {
          this.cache.set(this.cacheKey(r.id, as), r.parse(body, Number(m[1])));
        } catch (err) {
          if (err instanceof FactError) throw err;
          throw new FactError(r.fact.name, errorMessage(err), { cause: err });
        }
      });
    }
    return new Map(requests.map((r) => [r.id, this.cache.get(this.cacheKey(r.id, as))]));
  }

  /** Check mode: later tasks see the value a planned change would produce. */
  predict(request: FactRequest, value: unknown, as: RunAs): void {
    this.cache.set(this.cacheKey(request.id, as), value);
  }

  /** After a real change the host's state is unknown: facts are read again when next needed. */
  invalidate(): void {
    this.cache.clear();
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
