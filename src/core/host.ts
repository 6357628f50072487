/**
 * One host during a run: its connection, its gathered facts, the per-host fact
 * cache, and command execution with sudo wrapping. All remote I/O of the runner
 * goes through here.
 *
 * Facts are read in batches: one shell script per round trip, every fact in a
 * subshell between markers, grouped by the user they are read as (one sudo per
 * group). A batch may start with the host facts themselves; its groups are then
 * wrapped on the host (become.ts becomeOnHost), since who we are is not known
 * yet, and reads meant for one class of host only (prefetch.ts) are skipped by
 * the others.
 */
import { randomBytes } from 'node:crypto';
import type { Connection, ExecResult } from '../connections/types.js';
import type { HostFacts } from '../contract/host-facts.js';
import { hostClassKey, hostFacts, parseHostFacts, sessionSpecOf, SHELL_VARS } from '../facts/host.js';
import type { Fact, FactRequest } from '../contract/fact.js';
import { becomeOnHost, sudoNoise, wrapBecome, type Wrapped } from './become.js';
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

/** One fact to read as a user; `classes`: the host classes that need it (prefetch.ts), none: every host. */
export interface FactRead {
  readonly request: FactRequest;
  readonly as: RunAs;
  readonly classes?: readonly string[];
}

export interface ReadOptions {
  /** Gather the host facts first, in the same round trip. */
  gather?: boolean;
  /** Reads ahead of need: one that fails is left out (the task reads it again and reports why). */
  lenient?: boolean;
  /** With `lenient`: these reads (cache keys) are needed now, and one that fails fails the read. */
  strict?: ReadonlySet<string>;
}

/** Facts read after a command (HostSession.execThenRead), by cache key, not yet the host's. */
export type ReadAfter = ReadonlyMap<string, unknown>;

/** One fact's output in a batch, and its exit code. */
interface Section {
  body: string;
  rc: number;
}

/** Facts of a host not gathered (yet): the family, init and package manager are unknown. */
export const UNGATHERED: HostFacts = parseHostFacts('');

/** sudo's refusal, as the error a task reports. */
function sudoRefusal(command: string, res: ExecResult, host: string): CommandError | undefined {
  if (res.code === 1 && /sudo: (a password is required|a terminal is required)/.test(res.stderr)) {
    return new CommandError(command, res.code, res.stderr, `become: sudo on ${host} needs a password; set become_password_env in the inventory`);
  }
  if (/sudo: .*incorrect password|Sorry, try again/.test(res.stderr)) return new CommandError(command, res.code, res.stderr, `become: sudo on ${host} refused the become password`);
  return undefined;
}

const runAsKey = (as: RunAs): string => (as.become ? `${as.becomeUser}|` : '-|');

export class HostSession {
  /** Fact values read from the host. */
  private readonly cache = new Map<string, unknown>();
  /** Check mode: the values planned changes would produce, over the cache. */
  private readonly predicted = new Map<string, unknown>();
  facts: HostFacts = UNGATHERED;
  /** The host facts were read (a play with gather_facts: false may not need them). */
  gathered = false;

  /** The host facts once read; undefined before (the fact variables are then undefined, as in Ansible). */
  get gatheredFacts(): HostFacts | undefined {
    return this.gathered ? this.facts : undefined;
  }
  /** The sshd port on the host side our access goes through (moves when a play changes Port). */
  accessPort = 22;
  /** Check mode: changes reported so far on this host, only predicted (cleared with the predictions). */
  predictedChanges = 0;

  constructor(
    readonly name: string,
    public connection: Connection,
    private readonly becomePassword: string | undefined,
  ) {}

  /** A session on another connection to the same host, sharing the gathered facts. */
  sibling(connection: Connection): HostSession {
    const s = new HostSession(this.name, connection, this.becomePassword);
    s.facts = this.facts;
    s.gathered = this.gathered;
    s.accessPort = this.accessPort;
    return s;
  }

  /** Continue on `connection` (e.g. after sshd moved port); returns the old one. */
  swap(connection: Connection): Connection {
    const old = this.connection;
    this.connection = connection;
    this.invalidate();
    return old;
  }

  /** Gather the host facts: one round trip. */
  async gather(): Promise<HostFacts> {
    await this.read([], { gather: true });
    return this.facts;
  }

  private wrap(command: string, as: RunAs, onHost: boolean, args = ''): Wrapped {
    if (onHost) return becomeOnHost(command, { become: as.become, user: as.becomeUser, ...(this.becomePassword !== undefined ? { password: this.becomePassword } : {}) }, args);
    return wrapBecome(command, {
      become: as.become,
      user: as.becomeUser,
      connectedAs: this.facts.user,
      noPassword: this.facts.sudoNoPassword,
      password: this.becomePassword,
    });
  }

  /** Run a command as the task says (sudo when become), with an optional remote timeout. */
  async exec(command: string, req: ExecRequest): Promise<ExecResult> {
    return (await this.execThenRead(command, req, [])).res;
  }

  /**
   * Run a command as exec does and, in the same round trip, once it has ended,
   * read the facts of `reads` (all of them: what is cached may be what the
   * command changes). Their values come back apart from the command's output
   * and from the cache: the caller adopts them once it knows the command did
   * what it should (adopt), after dropping what it changed (invalidate). Left
   * out: reads that need the sudo password (the command may read its stdin,
   * where the password travels), and all of them under a timeout (they must
   * not count against the command's time) or before the host facts are known
   * (who we are decides how they are wrapped).
   */
  async execThenRead(command: string, req: ExecRequest, reads: readonly FactRead[]): Promise<{ res: ExecResult; after: ReadAfter }> {
    if (req.become && !this.gathered) await this.gather();
    const timed = req.timeoutMs ? `timeout -k 5 ${Math.ceil(req.timeoutMs / 1000)} /bin/sh -c ${quote(command)}` : command;
    const wrapped = this.wrap(timed, req, false);
    const list = req.timeoutMs || !this.gathered ? [] : this.wanted(reads, false, true).filter((r) => this.wrap('', r.as, false).stdinPrefix === '');
    const batch = list.length > 0 ? this.script(list, false) : undefined;
    const separator = batch ? `\n__PF_${batch.nonce}_after\n` : '';
    // the command in a subshell (an `exit` or `set -e` of its own stays there), then the reads, silent on stderr; its exit code is the script's
    const script = batch ? `( ${wrapped.command}\n)\n__pv_rc=$?\nprintf '%s' ${quote(separator)}\n{\n${batch.parts.join('\n')}\n} 2>/dev/null\nexit $__pv_rc` : wrapped.command;
    const stdin = wrapped.stdinPrefix || req.stdin !== undefined ? wrapped.stdinPrefix + (req.stdin ?? '') : undefined;
    // the local timeout is a safety net behind the remote one
    const raw = await this.connection.exec(script, {
      ...(stdin !== undefined ? { stdin } : {}),
      ...(req.timeoutMs ? { timeoutMs: req.timeoutMs + (req.graceMs ?? 10_000) } : {}),
    });
    const at = batch ? raw.stdout.lastIndexOf(separator) : -1;
    const output = at < 0 ? raw : { ...raw, stdout: raw.stdout.slice(0, at) };
    const res = wrapped.stdinPrefix ? { ...output, stderr: sudoNoise(output.stderr) } : output;
    const refused = req.become ? sudoRefusal(command, res, this.name) : undefined;
    if (refused) throw refused;
    if (req.timeoutMs && res.code === 124) throw new CommandError(command, res.code, res.stderr, `timed out after ${req.timeoutMs / 1000} s`);
    const after = new Map<string, unknown>();
    if (batch && at >= 0) {
      const readOut = { ...raw, stdout: raw.stdout.slice(at + separator.length) };
      list.forEach((r, i) => {
        const v = this.parsed(r, batch.section(readOut.stdout, i), readOut, true);
        if (v) after.set(this.cacheKey(r.request.id, r.as), v.value);
      });
    }
    return { res, after };
  }

  /** Take the values read after a command (execThenRead) as the host's. */
  adopt(after: ReadAfter): void {
    for (const [key, value] of after) this.cache.set(key, value);
  }

  private cacheKey(id: string, as: RunAs): string {
    return runAsKey(as) + id;
  }

  /**
   * Read every requested fact not cached yet in ONE round trip; return all
   * values by request id. When that round trip is needed, what `ahead` names
   * (the reads of the task items that follow) rides along, leniently.
   */
  async readFacts(requests: readonly FactRequest[], as: RunAs, ahead?: () => readonly FactRead[]): Promise<Map<string, unknown>> {
    const own = requests.map((request) => ({ request, as }));
    if (ahead && this.wanted(own, false, false).length > 0) {
      await this.read([...own, ...ahead()], { lenient: true, strict: new Set(own.map((r) => this.cacheKey(r.request.id, r.as))) });
    } else await this.read(own);
    return new Map(requests.map((r) => [r.id, this.value(r.id, as)]));
  }

  private value(id: string, as: RunAs): unknown {
    const key = this.cacheKey(id, as);
    return this.predicted.has(key) ? this.predicted.get(key) : this.cache.get(key);
  }

  /**
   * Read, in ONE round trip, the host facts when `gather` and every fact of
   * `reads` neither cached nor predicted (those meant for other host classes
   * are skipped once the class is known).
   */
  async read(reads: readonly FactRead[], o: ReadOptions = {}): Promise<void> {
    const gather = o.gather ?? false;
    const list = this.wanted(reads, gather, false);
    if (!gather && list.length === 0) return;
    const batch = this.script(list, gather);
    const raw = await this.connection.exec(batch.parts.join('\n'), { script: true, ...(batch.stdin ? { stdin: batch.stdin } : {}) });
    const res = batch.stdin ? { ...raw, stderr: sudoNoise(raw.stderr) } : raw;
    if (gather) this.learn(batch.section(res.stdout, 'h'), res);
    list.forEach((r, i) => {
      const key = this.cacheKey(r.request.id, r.as);
      const v = this.parsed(r, batch.section(res.stdout, i), res, (o.lenient ?? false) && !o.strict?.has(key));
      if (v) this.cache.set(key, v.value);
    });
  }

  /** Of `reads`, one per fact and user: those neither cached nor predicted (all with `fresh`), and once the class of host is known, those meant for it. */
  private wanted(reads: readonly FactRead[], gather: boolean, fresh: boolean): FactRead[] {
    const cls = gather ? undefined : hostClassKey(this.facts);
    const wanted = new Map<string, FactRead>();
    for (const r of reads) {
      const key = this.cacheKey(r.request.id, r.as);
      if ((!fresh && (this.cache.has(key) || this.predicted.has(key))) || wanted.has(key)) continue;
      if (cls !== undefined && r.classes && !r.classes.some((c) => classMatches(c, cls))) continue;
      wanted.set(key, gather ? r : { request: r.request, as: r.as });
    }
    return [...wanted.values()];
  }

  /**
   * The script reading `list` (with the host facts first when `gather`): every
   * fact in a subshell between markers, grouped by the user it is read as;
   * `section` finds a fact's output and exit code in what the script printed.
   */
  private script(list: readonly FactRead[], gather: boolean): { parts: string[]; stdin: string; nonce: string; section(stdout: string, i: number | 'h'): Section | undefined } {
    const nonce = randomBytes(6).toString('hex');
    const block = (i: number | 'h', body: string) => `printf '%s\\n' '__PF_${nonce}_${i}'\n${body}\nprintf '\\n__PF_${nonce}_${i}_rc=%s\\n' "$?"`;
    const parts: string[] = gather ? [block('h', `{ ${hostFacts.command(null)}\n} </dev/null`)] : [];
    let stdin = '';
    const groups = new Map<string, { as: RunAs; items: number[] }>();
    list.forEach((r, i) => {
      const k = runAsKey(r.as);
      const g = groups.get(k) ?? { as: r.as, items: [] };
      g.items.push(i);
      groups.set(k, g);
    });
    // reads of a fact that merges (Fact.merge) share one block, under the first one's index
    const alias = new Map<number, number>();
    // each group's shell has the session in SHELL_VARS.session for the reads that ask sshd about it:
    // handed over as $2 when the host facts are read in this script, else known
    const session = `${SHELL_VARS.session}=${gather ? '$2' : quote(sessionSpecOf(this.facts))}\n`;
    for (const g of groups.values()) {
      const body =
        session +
        merged(list, g.items, alias)
          .map(({ i, command }) => guarded(list[i]!.classes, block(i, `( ${command}\n) </dev/null`)))
          .join('\n');
      const w = this.wrap(body, g.as, gather, `"$${SHELL_VARS.hostClass}" "$${SHELL_VARS.session}"`);
      parts.push(w.command);
      stdin += w.stdinPrefix;
    }
    const section = (stdout: string, at: number | 'h'): Section | undefined => {
      const i = at === 'h' ? at : (alias.get(at) ?? at);
      const begin = `__PF_${nonce}_${i}\n`;
      const b = stdout.indexOf(begin);
      const m = new RegExp(`\\n__PF_${nonce}_${i}_rc=(\\d+)\\n`).exec(stdout);
      return b < 0 || !m ? undefined : { body: stdout.slice(b + begin.length, m.index), rc: Number(m[1]) };
    };
    return { parts, stdin, nonce, section };
  }

  private learn(s: Section | undefined, res: ExecResult): void {
    if (!s) throw new FactError(hostFacts.name, `no output from the host (exit ${res.code}): ${res.stderr.trim() || 'no stderr'}`);
    this.facts = hostFacts.parse(s.body, null, 0);
    this.gathered = true;
    if (this.facts.ssh) this.accessPort = this.facts.ssh.serverPort;
  }

  /** The value of one read from its section of the output; none when `lenient` and it failed. */
  private parsed(r: FactRead, s: Section | undefined, res: ExecResult, lenient: boolean): { value: unknown } | undefined {
    if (!s) {
      if (lenient) return undefined;
      throw (r.as.become && sudoRefusal(r.request.command, res, this.name)) || new FactError(r.request.fact.name, `no output from the host (exit ${res.code}): ${res.stderr.trim() || 'no stderr'}`);
    }
    try {
      return { value: r.request.parse(s.body, s.rc) };
    } catch (err) {
      if (lenient) return undefined;
      if (err instanceof FactError) throw err;
      throw new FactError(r.request.fact.name, errorMessage(err), { cause: err });
    }
  }

  /** Check mode: later tasks see the value a planned change would produce. */
  predict(request: FactRequest, value: unknown, as: RunAs): void {
    this.predicted.set(this.cacheKey(request.id, as), value);
  }

  /** Forget what check mode predicted; the values read from the host stay. */
  dropPredictions(): void {
    this.predicted.clear();
    this.predictedChanges = 0;
  }

  /** After a real change the host's state is unknown: facts are read again when next needed. */
  invalidate(): void {
    this.cache.clear();
    this.predicted.clear();
    this.predictedChanges = 0;
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}

/**
 * The commands of one user's reads, `items` indexing `list`: the reads of a
 * fact that merges, meant for the same host classes, as one command under the
 * first one's index (`alias` records where the others find their output).
 */
function merged(list: readonly FactRead[], items: readonly number[], alias: Map<number, number>): { i: number; command: string }[] {
  const sets = new Map<string, number[]>();
  const out: { i: number; command: string }[] = [];
  for (const i of items) {
    const { request, classes } = list[i]!;
    if (!request.fact.merge) {
      out.push({ i, command: request.command });
      continue;
    }
    const key = JSON.stringify([request.fact.name, classes ?? null]);
    const set = sets.get(key);
    if (set) {
      set.push(i);
      alias.set(i, set[0]!);
    } else {
      sets.set(key, [i]);
      out.push({ i, command: request.command });
    }
  }
  for (const set of sets.values()) {
    if (set.length < 2) continue;
    const fact = list[set[0]!]!.request.fact as Fact<unknown, unknown>;
    const command = fact.command(fact.merge!(set.map((i) => list[i]!.request.args)));
    out.splice(out.findIndex((o) => o.i === set[0]), 1, { i: set[0]!, command });
  }
  return out;
}

/** `debian:*:1` matches `debian:none:1`. */
function classMatches(pattern: string, cls: string): boolean {
  const a = pattern.split(':');
  const b = cls.split(':');
  return a.length === b.length && a.every((p, i) => p === '*' || p === b[i]);
}

/** A block run only on the host classes given ($1 holds the host's class). */
function guarded(classes: readonly string[] | undefined, body: string): string {
  return classes ? `case "$1" in ${classes.join('|')})\n${body}\n;; esac` : body;
}
