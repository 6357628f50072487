/**
 * Ad-hoc work on the hosts of an inventory, without a playbook:
 *
 * - `runAdhoc`: one shell command on every selected host in parallel (what
 *   `ansible PATTERN -m shell -a CMD` does), as a RunSummary, so reports and
 *   exit codes are those of a run;
 * - `readHostFacts`: the facts playbooks see (OS, init, package manager,
 *   container, sshd's effective settings, the firewall backend, listeners),
 *   all read in ONE round trip per host.
 *
 * Hosts are reached as a run reaches them: the same host selection (pattern,
 * --limit, --shard), defaults (-u, --private-key, -b), host-key policy,
 * connections (connect.ts), sudo (become.ts) and secret masking.
 */
import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { CommandError, ConnectionError, ProvisionError, errorMessage } from '../contract/errors.js';
import type { FactRequest } from '../contract/fact.js';
import type { HostFacts } from '../contract/host-facts.js';
import { quote } from '../contract/quote.js';
import { hostFacts } from '../facts/host.js';
import { iptablesSave, type IptablesSave } from '../facts/iptables.js';
import { listeners as listenersFact, type Listener, type ListenersInfo } from '../facts/listeners.js';
import { sshdAt, type SshdFacts } from '../facts/sshd.js';
import { sudoNoise, wrapBecome } from './become.js';
import { connectHost, type Connector } from './connect.js';
import { HostSession } from './host.js';
import type { HostSpec, Inventory } from './inventory.js';
import { exitCodeOf, EXIT, type HostRecap, type RunSummary, type TaskResult } from './results.js';
import { withDefaults, type HostDefaults } from './access.js';
import { Secrets } from './secrets.js';
import { selectTargets, targetWarnings, type SelectOptions } from './selection.js';

export interface AdhocOptions extends SelectOptions {
  inventory: Inventory;
  /** Host pattern: `all`, a group, a host, globs, `a:b`, `a:&b`, `a:!b`, `~regex`. */
  pattern: string;
  /** Hosts worked on in parallel (default 256). */
  forks?: number;
  /** Where the inventory is silent: login user, key, sudo (`-u`, `--private-key`, `-b`). */
  defaults?: HostDefaults;
  hostKeyPolicy?: 'strict' | 'accept-new';
  /** Per host, in ms (0 or undefined: none). */
  timeoutMs?: number;
  /** Abort (Ctrl-C): no new host starts; running ones finish. */
  signal?: AbortSignal;
  /** Replace how hosts are connected (tests). */
  connect?: Connector;
  secrets?: Secrets;
  events?: AdhocEvents;
}

export interface AdhocEvents {
  /** The hosts selected, before any is contacted. */
  start?(hosts: string[]): void;
  /** One host is done (reached or not). */
  hostDone?(host: string): void;
  warning?(message: string): void;
}

/** The hosts `pattern` selects, intersected with --limit, then the shard; in inventory order. */
export function selectAdhocHosts(inventory: Inventory, pattern: string, o: SelectOptions = {}): { hosts: string[]; warnings: string[] } {
  const target = { pattern };
  return { hosts: selectTargets([target], inventory, o)[0] ?? [], warnings: targetWarnings([target], inventory, o) };
}

interface Reached {
  spec: HostSpec;
  session: HostSession;
  become: boolean;
  becomeUser: string;
}

/** The per-host skeleton both ad-hoc operations share: select, connect in parallel, work, close. */
async function eachHost<T>(
  o: AdhocOptions,
  secrets: Secrets,
  work: (h: Reached) => Promise<T>,
): Promise<{ selected: string[]; done: Map<string, { ok: T } | { unreachable: string }>; interrupted: boolean; stats: RunSummary['stats'] }> {
  secrets.add(...o.inventory.secrets);
  const { hosts, warnings } = selectAdhocHosts(o.inventory, o.pattern, o);
  for (const w of warnings) o.events?.warning?.(w);
  o.events?.start?.(hosts);
  const limit = pLimit(o.forks ?? 256);
  const connect = o.connect ?? connectHost;
  const done = new Map<string, { ok: T } | { unreachable: string }>();
  const stats: RunSummary['stats'] = {};
  await Promise.all(
    hosts.map((name) =>
      limit(async () => {
        if (o.signal?.aborted) return;
        const spec = withDefaults(o.inventory.hosts.get(name)!, o);
        secrets.addFromVars(spec.vars);
        let session: HostSession | undefined;
        try {
          session = new HostSession(name, await connect(spec), spec.connection.becomePassword);
          const become = spec.connection.become ?? false;
          done.set(name, { ok: await work({ spec, session, become, becomeUser: spec.connection.becomeUser ?? 'root' }) });
        } catch (err) {
          if (!session || err instanceof ConnectionError) done.set(name, { unreachable: secrets.mask(errorMessage(err)) });
          else throw err;
        } finally {
          if (session) {
            stats[name] = { commands: session.connection.stats.commands, roundTrips: session.connection.stats.roundTrips };
            await session.close();
          }
          o.events?.hostDone?.(name);
        }
      }),
    ),
  );
  return { selected: hosts, done, interrupted: o.signal?.aborted ?? false, stats };
}

/** The command line as the task name of its results (`task` in reports). */
export const ADHOC_PLAY = 'exec';

/**
 * Run `command` (a shell command line, run by /bin/sh on each host) on every
 * selected host in parallel. A result per reached host: `changed` with exit 0
 * (a command is assumed to change something, as a `command` task is),
 * `failed` otherwise, with rc, stdout and stderr; exit code as for a run.
 */
export async function runAdhoc(o: AdhocOptions & { command: string }): Promise<RunSummary> {
  const started = Date.now();
  const secrets = o.secrets ?? new Secrets();
  const { selected, done, interrupted, stats } = await eachHost(o, secrets, async ({ session, become, becomeUser }): Promise<TaskResult> => {
    const t0 = Date.now();
    const base = { host: session.name, play: ADHOC_PLAY, task: o.command, module: 'shell', location: '(command line)', ignored: false, handler: false, diffs: [] };
    try {
      // sudo needs to know who we are and whether it asks for a password: one more round trip, only with become
      if (become) await session.gather();
      const res = await session.exec(o.command, { become, becomeUser, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
      const io = { rc: res.code, stdout: res.stdout.replace(/\n$/, ''), stderr: res.stderr.replace(/\n$/, '') };
      const ok = res.code === 0;
      return secrets.maskDeep({ ...base, status: ok ? 'changed' : 'failed', message: res.code === null ? 'killed by a signal' : `exit ${res.code}`, durationMs: Date.now() - t0, ...io, ...(ok ? {} : { code: 'E_COMMAND' }) });
    } catch (err) {
      if (err instanceof ConnectionError) throw err;
      const code = err instanceof ProvisionError ? err.code : 'E_INTERNAL';
      const extra = err instanceof CommandError ? { rc: err.exitCode, stderr: err.stderr.replace(/\n$/, '') } : {};
      return secrets.maskDeep({ ...base, status: 'failed', message: errorMessage(err), durationMs: Date.now() - t0, code, ...extra });
    }
  });
  const results: TaskResult[] = [];
  const hosts: HostRecap[] = [];
  for (const name of selected) {
    const d = done.get(name);
    if (!d) continue; // never started: interrupted
    const recap: HostRecap = { host: name, ok: 0, changed: 0, failed: 0, skipped: 0, ignored: 0, unreachable: false };
    if ('unreachable' in d) Object.assign(recap, { unreachable: true, error: d.unreachable });
    else {
      results.push(d.ok);
      recap[d.ok.status]++;
    }
    hosts.push(recap);
  }
  const summary: RunSummary = { check: false, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, interrupted, hosts, results, exitCode: 0, stats };
  summary.exitCode = exitCodeOf(summary);
  return summary;
}

/** A fact that could not be read, and why. */
export interface FactFailure {
  error: string;
}

export interface SshdSummary {
  installed: boolean;
  /** `OpenSSH_9.2p1 …`, empty when unknown. */
  version: string;
  /** From `sshd -T` (the effective configuration): every Port, PermitRootLogin, PasswordAuthentication. */
  port: number[];
  permitRootLogin: string;
  passwordAuthentication: string;
}

export interface FirewallSummary {
  /** iptables-save is installed. */
  available: boolean;
  /** `nft` (iptables-nft) or `legacy`. */
  backend: IptablesSave['backend'];
  version: string;
  /** Policy of the filter table's INPUT chain (ACCEPT when never set). */
  inputPolicy: string;
  /** Rules in the filter table. */
  filterRules: number;
}

/** What `provision facts` shows for one host. */
export interface HostFactsReport {
  host: string;
  /** Set when the host could not be reached; nothing else is then. */
  unreachable?: string;
  /** Set when the host was reached but its facts could not be read (a timeout, no shell): nothing else is then. */
  error?: string;
  os?: { family: string; distribution: string; version: string; prettyName: string };
  init?: HostFacts['init'];
  packageManager?: HostFacts['packageManager'];
  container?: boolean;
  /** The login user, the host's name for itself, kernel, architecture. */
  user?: string;
  hostname?: string;
  kernel?: string;
  arch?: string;
  sshd?: SshdSummary | FactFailure;
  firewall?: FirewallSummary | FactFailure;
  listeners?: Listener[] | FactFailure;
}

export const FACTS_SCHEMA = 'provision-facts/1';

export interface FactsReport {
  schema: typeof FACTS_SCHEMA;
  startedAt: string;
  durationMs: number;
  interrupted: boolean;
  hosts: HostFactsReport[];
  /** 0; 2 when a fact could not be read on a reached host (`error`, or a fact's `{ error }`); 4 when a host was unreachable (and every fact was read); 130 interrupted. */
  exitCode: number;
  /** Commands and round trips per reached host, from the connection layer (one command per host). */
  stats: RunSummary['stats'];
}

const sshdSummary = (f: SshdFacts): SshdSummary | FactFailure => {
  if (!f.installed) return { installed: false, version: '', port: [], permitRootLogin: '', passwordAuthentication: '' };
  if (!f.effective) return { error: `sshd -T failed (exit ${f.effectiveExit}): ${f.effectiveError || 'no output'}${/permission|denied|root/i.test(f.effectiveError) ? ' (reading it needs root: -b)' : ''}` };
  const one = (k: string) => f.effective?.[k]?.[0] ?? '';
  return {
    installed: true,
    version: f.versionText.split(',')[0] ?? '',
    port: (f.effective.port ?? []).map(Number).filter(Number.isFinite),
    permitRootLogin: one('permitrootlogin'),
    passwordAuthentication: one('passwordauthentication'),
  };
};

const firewallSummary = (f: IptablesSave): FirewallSummary => {
  const filter = f.tables.filter;
  return {
    available: f.available,
    backend: f.backend,
    version: f.version,
    inputPolicy: filter?.chains.find((c) => c.name === 'INPUT')?.policy ?? 'ACCEPT',
    filterRules: filter?.rules.length ?? 0,
  };
};

/**
 * One script for the whole host: the host facts as the login user, then the
 * other facts with sudo when become is on and we are not that user already
 * (decided on the host, so no round trip is spent asking). Each fact's output
 * between markers, parsed on its own: one fact that fails does not hide the
 * others.
 */
function factsScript(requests: readonly FactRequest[], nonce: string, become: { on: boolean; user: string; password: string | undefined }): { script: string; stdin?: string } {
  const framed = (r: FactRequest, i: number) => `printf '%s\\n' '__PF_${nonce}_${i}'\n( ${r.command}\n) </dev/null\nprintf '\\n__PF_${nonce}_${i}_rc=%s\\n' "$?"`;
  const [first, ...rest] = requests;
  const head = framed(first!, 0);
  const batch = rest.map((r, i) => framed(r, i + 1)).join('\n');
  if (!become.on) return { script: `${head}\n${batch}` };
  const as = { become: true, user: become.user, connectedAs: '' };
  const noPassword = wrapBecome(batch, { ...as, noPassword: true });
  const lines = [head, `if [ "$(id -un)" = ${quote(become.user)} ]; then`, `/bin/sh -c ${quote(batch)}`];
  if (become.password === undefined) {
    lines.push('else', noPassword.command, 'fi');
    return { script: lines.join('\n') };
  }
  const withPassword = wrapBecome(batch, { ...as, noPassword: false, password: become.password });
  lines.push('elif sudo -n true 2>/dev/null; then', noPassword.command, 'else', withPassword.command, 'fi');
  return { script: lines.join('\n'), stdin: withPassword.stdinPrefix };
}

function parseFramed<T>(stdout: string, stderr: string, nonce: string, i: number, r: FactRequest<T>): T | FactFailure {
  const begin = `__PF_${nonce}_${i}\n`;
  const b = stdout.indexOf(begin);
  const m = new RegExp(`\\n__PF_${nonce}_${i}_rc=(\\d+)\\n`).exec(stdout);
  if (b < 0 || !m) return { error: `no output from the host${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-2).join(' | ')}` : ''}` };
  try {
    return r.parse(stdout.slice(b + begin.length, m.index), Number(m[1]));
  } catch (err) {
    return { error: errorMessage(err) };
  }
}

const failed = (v: unknown): v is FactFailure => typeof v === 'object' && v !== null && 'error' in v && Object.keys(v).length === 1;

/** The facts of every selected host, each read in one round trip. */
export async function readHostFacts(o: AdhocOptions): Promise<FactsReport> {
  const started = Date.now();
  const secrets = o.secrets ?? new Secrets();
  const { selected, done, interrupted, stats } = await eachHost(o, secrets, async ({ spec, session, become, becomeUser }): Promise<HostFactsReport> => {
    const requests = [
      { id: hostFacts.name, command: hostFacts.command(null), parse: (out: string, code: number) => hostFacts.parse(out, null, code) } as unknown as FactRequest<HostFacts>,
      sshdAt(),
      iptablesSave(4),
      listenersFact(),
    ] as const;
    const nonce = randomBytes(6).toString('hex');
    const { script, stdin } = factsScript(requests, nonce, { on: become, user: becomeUser, password: spec.connection.becomePassword });
    let res;
    try {
      res = await session.connection.exec(script, { ...(stdin !== undefined ? { stdin } : {}), ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) });
      if (stdin !== undefined) res = { ...res, stderr: sudoNoise(res.stderr) };
    } catch (err) {
      if (err instanceof ConnectionError) throw err;
      return { host: spec.name, error: secrets.mask(errorMessage(err)) };
    }
    const [host, sshd, fw, ls] = [
      parseFramed(res.stdout, res.stderr, nonce, 0, requests[0]),
      parseFramed(res.stdout, res.stderr, nonce, 1, requests[1]),
      parseFramed(res.stdout, res.stderr, nonce, 2, requests[2]),
      parseFramed(res.stdout, res.stderr, nonce, 3, requests[3]),
    ];
    if (failed(host)) return { host: spec.name, error: secrets.mask(`host facts: ${host.error}`) };
    const sudoHint = (f: FactFailure): FactFailure =>
      /password is required|terminal is required/.test(res.stderr) ? { error: `${f.error} (sudo on ${spec.name} needs a password: set become_password_env in the inventory)` } : f;
    const report: HostFactsReport = {
      host: spec.name,
      os: { family: host.os.family, distribution: host.os.id, version: host.os.versionId, prettyName: host.os.prettyName },
      init: host.init,
      packageManager: host.packageManager,
      container: host.container,
      user: host.user,
      hostname: host.hostname,
      kernel: host.kernel,
      arch: host.arch,
      sshd: failed(sshd) ? sudoHint(sshd) : sshdSummary(sshd),
      firewall: failed(fw) ? sudoHint(fw) : firewallSummary(fw),
      listeners: failed(ls) ? sudoHint(ls) : [...(ls as ListenersInfo).listeners],
    };
    return secrets.maskDeep(report);
  });
  const hosts: HostFactsReport[] = [];
  for (const name of selected) {
    const d = done.get(name);
    if (!d) continue;
    hosts.push('unreachable' in d ? { host: name, unreachable: d.unreachable } : d.ok);
  }
  const anyFailed = hosts.some((h) => h.error !== undefined || [h.sshd, h.firewall, h.listeners].some((v) => failed(v)));
  const exitCode = interrupted ? EXIT.INTERRUPTED : anyFailed ? EXIT.FAILED : hosts.some((h) => h.unreachable !== undefined) ? EXIT.UNREACHABLE : EXIT.OK;
  return { schema: FACTS_SCHEMA, startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, interrupted, hosts, exitCode, stats };
}
