/**
 * A host's merged variables → how to reach it (ConnectionSpec).
 *
 * Each setting has native names and Ansible spellings (CONNECTION_SETTINGS in
 * schema/inventory.ts). Among the Ansible spellings Ansible's own priority
 * decides, wherever each is set (ansible-core reads them by name from the
 * merged variables: `ansible_ssh_user` beats `ansible_user`); between a native
 * name and an Ansible spelling the more specific layer wins, the native one on
 * the same layer.
 *
 * Then, as ssh would see them: the options in `ansible_ssh_args`,
 * `ansible_ssh_common_args`, `ansible_ssh_extra_args` (after the inventory's
 * own values, as Ansible puts them on the ssh command line), then
 * `~/.ssh/config` for the address ssh is given. First obtained value wins.
 * Options that map onto provision's connection are used, connection sharing
 * and keep-alive options draw a warning, the rest is refused naming the option.
 * Host keys are always checked: `StrictHostKeyChecking no` (or
 * `ansible_host_key_checking: false`) is refused unless the inventory's
 * `host_key_policy` or the run's `--host-key-policy` decides instead.
 */
import { hostname, userInfo } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { SourceLocation } from '../contract/errors.js';
import { ANSIBLE_INTERPRETER_RE, ANSIBLE_UNUSED_VARS, CONNECTION_SETTINGS, JUMP_STRING_RE, ansibleBool } from '../schema/inventory.js';
import { shlexSplit } from './inventory-ini-values.js';
import { renderedValueProblem } from './inventory-check.js';
import type { InventoryBuilder, Origin } from './inventory-model.js';
import { isSecretName } from './secrets.js';
import { splitKeywordLine, sshConfigFor, type SshConfig } from './ssh-config.js';
import { isTemplated, renderValue } from './template.js';

export interface JumpSpec {
  host: string;
  port: number;
  user?: string;
  identityFile?: string;
}

export interface ConnectionSpec {
  connection: 'ssh' | 'local';
  host: string;
  port: number;
  user?: string;
  identityFile?: string;
  /** Offer only the identity file (or the default key files), never ssh-agent keys (`IdentitiesOnly yes`). */
  identitiesOnly?: boolean;
  passphrase?: string;
  password?: string;
  /** Set only where the inventory says (`become` / `ansible_become`). */
  become?: boolean;
  becomeUser?: string;
  becomePassword?: string;
  knownHostsFile?: string;
  hostKeyPolicy: 'strict' | 'accept-new';
  jump: JumpSpec[];
  connectTimeoutMs: number;
  /** Host-side sshd port → port to dial from the control node (NAT / port forwarding). */
  portMap: Record<number, number>;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface HostResolver {
  vars: Record<string, unknown>;
  origins: Map<string, { rank: number; origin: Origin }>;
}

export interface ConnectionContext {
  env: NodeJS.ProcessEnv;
  home: string;
  cwd: string;
  b: InventoryBuilder;
  secrets: Set<string>;
  sshConfig?: SshConfig;
  /** The run's host key policy (`--host-key-policy`), which overrides the inventory's. */
  hostKeyPolicy?: 'strict' | 'accept-new';
  /** Variables names already warned about (one warning per name). */
  warnedVars: Set<string>;
  /** Variables templates in connection settings may use (inventory_hostname, group_names, groups). */
  magic: Record<string, unknown>;
}

interface Picked {
  name: string;
  value: unknown;
  rank: number;
  origin: Origin;
}

const defined = (v: unknown): boolean => v !== undefined && v !== null;

function pick(r: HostResolver, s: { native: readonly string[]; ansible: readonly string[] }): Picked | undefined {
  let native: Picked | undefined;
  for (const name of s.native) {
    const o = r.origins.get(name);
    if (!o || !defined(r.vars[name])) continue;
    if (!native || o.rank > native.rank) native = { name, value: r.vars[name], rank: o.rank, origin: o.origin };
  }
  let ansible: Picked | undefined;
  for (const name of s.ansible) {
    const o = r.origins.get(name);
    if (!o || !defined(r.vars[name])) continue;
    ansible = { name, value: r.vars[name], rank: o.rank, origin: o.origin };
    break;
  }
  if (native && (!ansible || native.rank >= ansible.rank)) return native;
  return ansible;
}

/** One ssh option obtained from the ssh arguments or ~/.ssh/config. */
interface Obtained {
  /** ssh keyword, lower case (`-p` is `port`). */
  keyword: string;
  args: string[];
  /** How it was written, for messages: `-o ProxyJump=b` or `ProxyJump b`. */
  text: string;
  /** `ansible_ssh_common_args` or the config file. */
  source: string;
  /** Field path of the variable that holds it, for errors (none for ~/.ssh/config). */
  path?: string;
  location?: SourceLocation;
  fromConfig: boolean;
}

/** ssh keywords provision maps onto its connection. */
const USED_KEYWORDS = new Set(['hostname', 'port', 'user', 'identityfile', 'proxyjump', 'identitiesonly', 'userknownhostsfile', 'stricthostkeychecking', 'connecttimeout']);
/** ssh options that only tune ssh's own connection handling: provision keeps one connection per host. */
const HARMLESS_KEYWORDS = new Set(['controlmaster', 'controlpersist', 'controlpath', 'serveraliveinterval', 'serveralivecountmax', 'tcpkeepalive', 'compression', 'loglevel', 'batchmode']);
/** Config keywords that change how ssh reaches a host and that provision cannot follow: a warning when they apply. */
const UNFOLLOWED_CONFIG_KEYWORDS = new Set(['proxycommand', 'hostkeyalias', 'certificatefile', 'identityagent']);
const SUPPORTED_ARGS_TEXT = '-o ProxyJump=…, -J, -o StrictHostKeyChecking=yes|accept-new, -o UserKnownHostsFile=…, -o User=…, -o Port=…, -o IdentityFile=…, -o IdentitiesOnly=…, -o ConnectTimeout=…, -p, -i, -l';
const HARMLESS_FLAGS = new Set(['C', 'q', 'v', 'T', 't', 'n']);
const FLAGS_WITH_VALUE: Record<string, string> = { p: 'port', i: 'identityfile', J: 'proxyjump', l: 'user' };
const FLAG_NAMES: Record<string, string> = { C: 'compression', q: 'quiet mode', v: 'verbose mode', T: 'no tty', t: 'tty', n: 'stdin from /dev/null' };

/** An option obtained from a variable (`ansible_ssh_common_args`, `ansible_host_key_checking`). */
function fromVariable(keyword: string, args: string[], text: string, name: string, origin: Origin): Obtained {
  return { keyword, args, text, source: name, path: origin.path || name, fromConfig: false, ...(origin.location ? { location: origin.location } : {}) };
}

/** Parse one `ansible_ssh_*args` value into obtained options; refuse what provision cannot do. */
function parseSshArgs(name: string, text: string, origin: Origin, ctx: ConnectionContext): Obtained[] {
  const out: Obtained[] = [];
  const where = origin.location;
  const refuse = (what: string, hint = ''): void =>
    ctx.b.issue(`${what} is not supported by provision${hint} (supported: ${SUPPORTED_ARGS_TEXT})`, where, origin.path || name);
  let words: string[];
  try {
    words = shlexSplit(text).map((t) => t.value);
  } catch (err) {
    ctx.b.issue(`cannot split the ssh arguments: ${(err as Error).message.toLowerCase()}`, where, origin.path || name);
    return out;
  }
  for (let i = 0; i < words.length; i++) {
    const w = words[i] as string;
    if (!w.startsWith('-') || w.length < 2) {
      refuse(`"${w}"`);
      continue;
    }
    const flag = w[1] as string;
    if (flag === 'o') {
      const opt = w.length > 2 ? w.slice(2) : words[++i];
      if (opt === undefined) {
        refuse('-o without an option');
        continue;
      }
      const parsed = splitKeywordLine(opt);
      if (!parsed || parsed.args.length === 0) {
        refuse(`-o ${opt}`);
        continue;
      }
      const shown = `-o ${opt}`;
      if (USED_KEYWORDS.has(parsed.keyword)) out.push(fromVariable(parsed.keyword, parsed.args, shown, name, origin));
      else if (HARMLESS_KEYWORDS.has(parsed.keyword)) ctx.b.warn(`${name}: ${shown} is not used by provision (it keeps one connection per host and handles keep-alive itself)`, where);
      else refuse(shown, parsed.keyword === 'proxycommand' ? '; for a bastion use -J/ProxyJump or the jump variable' : '');
      continue;
    }
    if (FLAGS_WITH_VALUE[flag]) {
      const value = w.length > 2 ? w.slice(2) : words[++i];
      if (value === undefined) {
        refuse(`-${flag} without a value`);
        continue;
      }
      out.push(fromVariable(FLAGS_WITH_VALUE[flag] as string, [value], `-${flag} ${value}`, name, origin));
      continue;
    }
    const letters = w.slice(1).split('');
    if (letters.every((l) => HARMLESS_FLAGS.has(l))) {
      ctx.b.warn(`${name}: ${w} (${letters.map((l) => FLAG_NAMES[l]).join(', ')}) is not used by provision`, where);
      continue;
    }
    refuse(w);
  }
  return out;
}

function expandTokens(text: string, tokens: Record<string, string>, onUnknown: (token: string) => void): string {
  return text.replace(/%(.)/g, (all, t: string) => {
    if (t === '%') return '%';
    const v = tokens[t];
    if (v === undefined) {
      onUnknown(all);
      return all;
    }
    return v;
  });
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return resolve(home, p.slice(2));
  return p;
}

function boolWord(v: string | undefined): boolean | undefined {
  const s = v?.toLowerCase();
  if (s === 'yes' || s === 'true') return true;
  if (s === 'no' || s === 'false') return false;
  return undefined;
}

/** One host's variables read as connection settings: the winning spelling, rendered, problems reported at its place. */
class HostSettings {
  constructor(
    readonly hostName: string,
    readonly r: HostResolver,
    readonly ctx: ConnectionContext,
  ) {}

  pick(s: { native: readonly string[]; ansible: readonly string[] }): Picked | undefined {
    return pick(this.r, s);
  }

  issueAt(p: { origin: Origin; name: string }, message: string): void {
    this.ctx.b.issue(message, p.origin.location, p.origin.path || p.name);
  }

  /** The value, with `{{ }}` rendered against the host's variables. */
  value(p: Picked | undefined): unknown {
    if (!p) return undefined;
    if (typeof p.value === 'string' && isTemplated(p.value)) {
      try {
        const rendered = renderValue(p.value, { ...this.r.vars, ...this.ctx.magic });
        if (typeof rendered === 'string' && isTemplated(rendered)) throw new Error('still a template after rendering');
        const problem = renderedValueProblem(p.name, rendered);
        if (problem) throw new Error(`${JSON.stringify(rendered)}: ${problem}`);
        return rendered;
      } catch (err) {
        this.issueAt(p, `cannot render ${p.name} for host ${this.hostName}: ${(err as Error).message}`);
        return undefined;
      }
    }
    return p.value;
  }

  str(p: Picked | undefined): string | undefined {
    const v = this.value(p);
    return v === undefined || v === null ? undefined : String(v);
  }

  /** A path setting: `~` is the home, a relative path is relative to the file that set it. */
  path(p: Picked, v: string): string {
    const e = expandHome(v, this.ctx.home);
    return isAbsolute(e) ? e : resolve(p.origin.baseDir ?? this.ctx.cwd, e);
  }

  /** A password or passphrase: the value, or for `*_env` names the environment variable it names; kept for masking. */
  secret(p: Picked | undefined, label: string): string | undefined {
    if (!p) return undefined;
    let v: string | undefined;
    if (p.name.endsWith('_env')) {
      const varName = String(p.value);
      v = this.ctx.env[varName];
      if (v === undefined) {
        this.issueAt(p, `environment variable ${varName} is not set (${label} for host ${this.hostName})`);
        return undefined;
      }
    } else v = this.str(p);
    if (v !== undefined && v !== '') this.ctx.secrets.add(v);
    return v;
  }
}

/** Every secret, whatever its spelling and whether or not it wins, is masked in output. */
function rememberSecrets(r: HostResolver, ctx: ConnectionContext): void {
  for (const [k, v] of Object.entries(r.vars)) {
    if (isSecretName(k) && !k.endsWith('_env') && (typeof v === 'string' || typeof v === 'number')) {
      const s = String(v);
      if (s !== '') ctx.secrets.add(s);
    }
  }
}

/** Ansible settings provision has no use for: one warning per name, for the whole inventory. */
function warnUnusedAnsibleVars(r: HostResolver, ctx: ConnectionContext): void {
  for (const k of Object.keys(r.vars)) {
    if ((ANSIBLE_UNUSED_VARS.has(k) || ANSIBLE_INTERPRETER_RE.test(k)) && !ctx.warnedVars.has(k)) {
      ctx.warnedVars.add(k);
      const o = r.origins.get(k)?.origin;
      ctx.b.warn(`not used by provision: ${k}`, o?.location);
    }
  }
}

/** The settings the variables set, which the ssh options may not change. */
interface VariablePicks {
  port?: Picked;
  user?: Picked;
  timeout?: Picked;
  identity?: Picked;
  knownHosts?: Picked;
  policy?: Picked;
  jump?: Picked;
}

const nativeOnly = (name: string): { native: readonly string[]; ansible: readonly string[] } => ({ native: [name], ansible: [] });

/** The connection as the variables say it, before any ssh option. */
function specFromVariables(s: HostSettings): { spec: ConnectionSpec; picks: VariablePicks } {
  const picks: VariablePicks = {
    port: s.pick(CONNECTION_SETTINGS.port),
    user: s.pick(CONNECTION_SETTINGS.user),
    identity: s.pick(CONNECTION_SETTINGS.identityFile),
    timeout: s.pick(CONNECTION_SETTINGS.connectTimeout),
    knownHosts: s.pick(nativeOnly('known_hosts_file')),
    policy: s.pick(nativeOnly('host_key_policy')),
    jump: s.pick(nativeOnly('jump')),
  };
  const conn = s.str(s.pick(CONNECTION_SETTINGS.connection));
  const host = s.str(s.pick(CONNECTION_SETTINGS.host)) ?? s.hostName;
  const portValue = s.value(picks.port);
  const timeoutValue = s.value(picks.timeout);
  const spec: ConnectionSpec = {
    connection: conn === 'local' ? 'local' : 'ssh',
    host,
    port: portValue !== undefined && portValue !== null ? Number(portValue) : 22,
    hostKeyPolicy: s.value(picks.policy) === 'accept-new' ? 'accept-new' : 'strict',
    jump: [],
    connectTimeoutMs: timeoutValue !== undefined && timeoutValue !== null ? Math.round(Number(timeoutValue) * 1000) : DEFAULT_CONNECT_TIMEOUT_MS,
    portMap: Object.fromEntries(Object.entries((s.value(s.pick(nativeOnly('port_map'))) ?? {}) as Record<string, number>).map(([k, v]) => [Number(k), v])),
  };
  addOptionalSettings(spec, s, picks);
  if (picks.jump) spec.jump = nativeJumps(picks.jump, s.value(picks.jump), s);
  return { spec, picks };
}

/** become, the user, key and known hosts files, and the secrets: set only where a variable gives them. */
function addOptionalSettings(spec: ConnectionSpec, s: HostSettings, picks: VariablePicks): void {
  const become = s.pick(CONNECTION_SETTINGS.become);
  if (become) spec.become = ansibleBool(s.value(become));
  const becomeUser = s.str(s.pick(CONNECTION_SETTINGS.becomeUser));
  if (becomeUser !== undefined) spec.becomeUser = becomeUser;
  const user = s.str(picks.user);
  if (user !== undefined) spec.user = user;
  const identity = s.str(picks.identity);
  if (identity !== undefined && picks.identity) spec.identityFile = s.path(picks.identity, identity);
  const knownHosts = s.str(picks.knownHosts);
  if (knownHosts !== undefined && picks.knownHosts) spec.knownHostsFile = s.path(picks.knownHosts, knownHosts);
  const passphrase = s.secret(s.pick(nativeOnly('passphrase_env')), 'key passphrase');
  if (passphrase !== undefined) spec.passphrase = passphrase;
  const password = s.secret(s.pick(CONNECTION_SETTINGS.password), 'SSH password');
  if (password !== undefined) spec.password = password;
  const becomePassword = s.secret(s.pick(CONNECTION_SETTINGS.becomePassword), 'sudo password');
  if (becomePassword !== undefined) spec.becomePassword = becomePassword;
}

/** The ssh options for a host by keyword, first obtained first: the arguments (in Ansible's command-line order), then ~/.ssh/config. */
function obtainSshOptions(s: HostSettings, destination: string): Map<string, Obtained[]> {
  const obtained = new Map<string, Obtained[]>();
  const add = (o: Obtained): void => {
    const list = obtained.get(o.keyword) ?? [];
    list.push(o);
    obtained.set(o.keyword, list);
  };
  const argsVar = (name: string): void => {
    const o = s.r.origins.get(name);
    const v = s.r.vars[name];
    if (!o || !defined(v) || v === '') return;
    const text = s.value({ name, value: v, rank: o.rank, origin: o.origin });
    if (typeof text !== 'string') return;
    parseSshArgs(name, text, o.origin, s.ctx).forEach(add);
  };
  argsVar('ansible_ssh_args');
  const hkc = s.pick(CONNECTION_SETTINGS.hostKeyChecking);
  if (hkc && !ansibleBool(s.value(hkc))) add(fromVariable('stricthostkeychecking', ['no'], 'false', hkc.name, hkc.origin));
  argsVar('ansible_ssh_common_args');
  argsVar('ansible_ssh_extra_args');
  configOptions(s.ctx, destination).forEach(add);
  return obtained;
}

/** What ~/.ssh/config says for the address ssh is given; what provision cannot follow draws a warning. */
function configOptions(ctx: ConnectionContext, destination: string): Obtained[] {
  const out: Obtained[] = [];
  for (const [keyword, values] of sshConfigFor(ctx.sshConfig, destination)) {
    for (const v of values) {
      const shown = `${keywordName(keyword)} ${v.args.join(' ')}`;
      if (USED_KEYWORDS.has(keyword)) out.push({ keyword, args: v.args, text: shown, source: v.location.file, fromConfig: true, location: v.location });
      else if (UNFOLLOWED_CONFIG_KEYWORDS.has(keyword)) ctx.b.warn(`ssh config ${v.args.length ? shown : keywordName(keyword)} applies to ${destination}, but provision does not follow ${keywordName(keyword)}${keyword === 'proxycommand' ? ' (use ProxyJump)' : ''}`, v.location);
    }
  }
  return out;
}

/** The host's ssh options being applied onto its connection. */
interface Applying {
  s: HostSettings;
  spec: ConnectionSpec;
  options: Map<string, Obtained[]>;
  picks: VariablePicks;
  /** The address ssh is given (before HostName). */
  destination: string;
}

const firstOption = (a: Applying, keyword: string): Obtained | undefined => a.options.get(keyword)?.[0];

/** The option's first value, unless a variable sets the same (a variable wins over the ssh options). */
const optionUnlessSet = (a: Applying, set: Picked | undefined, keyword: string): Obtained | undefined => (set ? undefined : firstOption(a, keyword));

/** How an option is named in warnings (which have no field path). */
const shownAs = (o: Obtained): string => (o.fromConfig ? `ssh config ${o.text}` : `${o.source}: ${o.text}`);

/** An error about an option: at its place, under the variable's path when it comes from one. */
function refuseOption(b: InventoryBuilder, o: Obtained, message: string): void {
  if (o.fromConfig) b.issue(`ssh config ${o.text}: ${message}`, o.location);
  else b.issue(`${o.text}: ${message}`, o.location, o.path ?? o.source);
}

/** A path option as ssh reads it: `${VAR}`, `%` tokens, `~`; relative to the working directory. */
function optionPath(a: Applying, o: Obtained, raw: string): string {
  const { ctx } = a.s;
  const tokens = {
    d: ctx.home,
    h: a.spec.host,
    n: a.destination,
    p: String(a.spec.port),
    r: a.spec.user ?? userInfo().username,
    u: userInfo().username,
    l: hostname(),
    L: hostname().split('.')[0] ?? '',
    i: String(userInfo().uid),
  };
  let p = raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, name: string) => ctx.env[name] ?? all);
  p = expandTokens(p, tokens, (t) => ctx.b.warn(`${shownAs(o)}: token ${t} is not supported; used as written`, o.location));
  p = expandHome(p, ctx.home);
  return isAbsolute(p) ? p : resolve(ctx.cwd, p);
}

function applyHostName(a: Applying): void {
  const o = firstOption(a, 'hostname');
  if (o) a.spec.host = expandTokens(o.args[0] ?? a.destination, { h: a.destination }, (t) => a.s.ctx.b.warn(`${shownAs(o)}: token ${t} is not supported here`, o.location));
}

function applyPort(a: Applying): void {
  const o = optionUnlessSet(a, a.picks.port, 'port');
  if (!o) return;
  const n = Number(o.args[0]);
  if (!/^[0-9]+$/.test(o.args[0] ?? '') || n < 1 || n > 65535) refuseOption(a.s.ctx.b, o, `expected a port number, got ${JSON.stringify(o.args[0])}`);
  else a.spec.port = n;
}

function applyUser(a: Applying): void {
  const o = optionUnlessSet(a, a.picks.user, 'user');
  if (o?.args[0]) a.spec.user = o.args[0];
}

function applyConnectTimeout(a: Applying): void {
  const o = optionUnlessSet(a, a.picks.timeout, 'connecttimeout');
  if (!o) return;
  const n = Number(o.args[0]);
  if (!(n > 0)) refuseOption(a.s.ctx.b, o, `expected seconds, got ${JSON.stringify(o.args[0])}`);
  else a.spec.connectTimeoutMs = Math.round(n * 1000);
}

/** The first IdentityFile, unless a variable sets the key; the others are named in a warning. */
function applyIdentityFile(a: Applying): void {
  const b = a.s.ctx.b;
  const identities = a.options.get('identityfile') ?? [];
  const o = identities[0];
  if (!o) return;
  if (a.picks.identity) {
    if (!o.fromConfig) b.warn(`${shownAs(o)}: not used, ${a.picks.identity.name} sets the key for ${a.s.hostName}`, o.location);
    return;
  }
  a.spec.identityFile = optionPath(a, o, o.args[0] ?? '');
  const others = identities.slice(1).map((x) => x.args[0]).filter((x) => x !== undefined);
  if (others.length) b.warn(`${a.destination}: only the first IdentityFile is used (${o.args[0]}); not tried: ${others.join(', ')}`, o.location);
}

function applyIdentitiesOnly(a: Applying): void {
  const o = firstOption(a, 'identitiesonly');
  if (!o) return;
  const v = boolWord(o.args[0]);
  if (v === undefined) refuseOption(a.s.ctx.b, o, `expected yes or no, got ${JSON.stringify(o.args[0])}`);
  else if (v) a.spec.identitiesOnly = true;
  else if (a.spec.identityFile) a.s.ctx.b.warn(`${shownAs(o)}: provision offers only the identity file when one is set (ssh-agent keys are not tried)`, o.location);
}

function applyKnownHostsFile(a: Applying): void {
  const o = optionUnlessSet(a, a.picks.knownHosts, 'userknownhostsfile');
  if (!o) return;
  const files = o.args;
  if (files[0] === 'none') a.s.ctx.b.warn(`${shownAs(o)}: provision still checks host keys against ~/.ssh/known_hosts`, o.location);
  else if (files[0]) {
    a.spec.knownHostsFile = optionPath(a, o, files[0]);
    if (files.length > 1) a.s.ctx.b.warn(`${shownAs(o)}: only the first file is used (${files[0]}); not read: ${files.slice(1).join(' ')}`, o.location);
  }
}

/** Host keys are always checked: turning the check off is refused unless a host key policy decides instead. */
function applyStrictHostKeyChecking(a: Applying): void {
  const o = firstOption(a, 'stricthostkeychecking');
  if (!o) return;
  const { b, hostKeyPolicy } = a.s.ctx;
  const v = (o.args[0] ?? '').toLowerCase();
  if (v === 'no' || v === 'off') {
    const decided = a.picks.policy ? `host_key_policy: ${a.spec.hostKeyPolicy}` : hostKeyPolicy ? `--host-key-policy ${hostKeyPolicy}` : undefined;
    if (decided) b.warn(`${shownAs(o)}: not applied, provision never skips host-key checks (${decided} decides)`, o.location);
    else
      refuseOption(
        b,
        o,
        'provision never skips host-key checks; remove it, or set host_key_policy: accept-new in the inventory (or --host-key-policy accept-new): unknown keys are then recorded, changed keys still refused',
      );
  } else if (!a.picks.policy) {
    if (v === 'accept-new') a.spec.hostKeyPolicy = 'accept-new';
    else if (v === 'yes' || v === 'true') a.spec.hostKeyPolicy = 'strict';
    else if (v === 'ask') b.warn(`${shownAs(o)}: provision does not ask; unknown host keys are refused (strict)`, o.location);
    else refuseOption(b, o, `expected yes, accept-new or no, got ${JSON.stringify(o.args[0])}`);
  }
}

function applyProxyJump(a: Applying): void {
  const o = optionUnlessSet(a, a.picks.jump, 'proxyjump');
  if (o && o.args[0] && o.args[0].toLowerCase() !== 'none') a.spec.jump = proxyJumps(o.args.join(','), (m) => refuseOption(a.s.ctx.b, o, m));
}

/** The ssh options provision maps onto a connection, applied in this order: a path's `%h %p %r` see the host, port and user set before it. */
const APPLY_SSH_OPTIONS: readonly ((a: Applying) => void)[] = [
  applyHostName,
  applyPort,
  applyUser,
  applyConnectTimeout,
  applyIdentityFile,
  applyIdentitiesOnly,
  applyKnownHostsFile,
  applyStrictHostKeyChecking,
  applyProxyJump,
];

/** Resolve one host's connection. Problems go to the builder (issues refuse, warnings inform). */
export function buildConnection(hostName: string, r: HostResolver, ctx: ConnectionContext): ConnectionSpec {
  rememberSecrets(r, ctx);
  warnUnusedAnsibleVars(r, ctx);
  const s = new HostSettings(hostName, r, ctx);
  const { spec, picks } = specFromVariables(s);
  if (spec.connection === 'local') return spec;
  const destination = spec.host;
  const applying: Applying = { s, spec, options: obtainSshOptions(s, destination), picks, destination };
  for (const apply of APPLY_SSH_OPTIONS) apply(applying);
  spec.jump = spec.jump.map((j) => withHopConfig(j, ctx));
  return spec;
}

function keywordName(k: string): string {
  const names: Record<string, string> = {
    hostname: 'HostName',
    port: 'Port',
    user: 'User',
    identityfile: 'IdentityFile',
    proxyjump: 'ProxyJump',
    identitiesonly: 'IdentitiesOnly',
    userknownhostsfile: 'UserKnownHostsFile',
    stricthostkeychecking: 'StrictHostKeyChecking',
    connecttimeout: 'ConnectTimeout',
    proxycommand: 'ProxyCommand',
    hostkeyalias: 'HostKeyAlias',
    certificatefile: 'CertificateFile',
    identityagent: 'IdentityAgent',
  };
  return names[k] ?? k;
}

/** `user@host:port` (user and port optional; `[v6]:port`). */
export function parseHostString(s: string): { user?: string; host: string; port?: number } | undefined {
  const m = JUMP_STRING_RE.exec(s.trim());
  if (!m) return undefined;
  const host = (m[2] as string).replace(/^\[(.*)\]$/, '$1');
  const out: { user?: string; host: string; port?: number } = { host };
  if (m[1]) out.user = m[1];
  if (m[3]) {
    const port = Number(m[3]);
    if (port < 1 || port > 65535) return undefined;
    out.port = port;
  }
  return out;
}

function proxyJumps(text: string, bad: (message: string) => void): JumpSpec[] {
  const out: JumpSpec[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const parsed = parseHostString(raw.replace(/^ssh:\/\//, ''));
    if (!parsed) {
      bad(`invalid jump host ${JSON.stringify(raw)}: expected [user@]host[:port]`);
      continue;
    }
    const j: JumpSpec = { host: parsed.host, port: parsed.port ?? 0 };
    if (parsed.user) j.user = parsed.user;
    out.push(j);
  }
  return out;
}

function nativeJumps(p: Picked, v: unknown, s: HostSettings): JumpSpec[] {
  const out: JumpSpec[] = [];
  const hops: unknown[] = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : Array.isArray(v) ? v : [];
  for (const hop of hops) {
    if (typeof hop === 'string') {
      const parsed = parseHostString(hop);
      if (!parsed) {
        s.ctx.b.issue(`invalid jump host ${JSON.stringify(hop)}: expected user@host:port (user and port optional)`, p.origin.location, p.origin.path);
        continue;
      }
      const j: JumpSpec = { host: parsed.host, port: parsed.port ?? 0 };
      if (parsed.user) j.user = parsed.user;
      out.push(j);
    } else if (hop && typeof hop === 'object') {
      const o = hop as { host: string; port?: number; user?: string; identity_file?: string };
      const j: JumpSpec = { host: o.host, port: o.port ?? 0 };
      if (o.user) j.user = o.user;
      if (o.identity_file) j.identityFile = s.path(p, o.identity_file);
      out.push(j);
    }
  }
  return out;
}

/** A jump host gets what ~/.ssh/config says for it where the hop itself is silent (port 0: not given). */
function withHopConfig(j: JumpSpec, ctx: ConnectionContext): JumpSpec {
  const config = sshConfigFor(ctx.sshConfig, j.host);
  const get = (k: string): string | undefined => config.get(k)?.[0]?.args[0];
  const out: JumpSpec = { ...j };
  const hn = get('hostname');
  if (hn) out.host = hn.replace(/%h/g, j.host).replace(/%%/g, '%');
  if (!j.port) {
    const p = Number(get('port'));
    out.port = Number.isInteger(p) && p >= 1 && p <= 65535 ? p : 22;
  }
  if (!j.user && get('user')) out.user = get('user') as string;
  const id = get('identityfile');
  if (!j.identityFile && id) {
    const e = expandHome(id.replace(/%d/g, ctx.home).replace(/%%/g, '%'), ctx.home);
    out.identityFile = isAbsolute(e) ? e : resolve(ctx.cwd, e);
  }
  const hopJump = config.get('proxyjump')?.[0];
  if (hopJump && hopJump.args[0]?.toLowerCase() !== 'none') {
    ctx.b.warn(`ssh config ProxyJump ${hopJump.args.join(' ')} for the jump host ${j.host} is not followed: list every hop in order instead`, hopJump.location);
  }
  return out;
}
