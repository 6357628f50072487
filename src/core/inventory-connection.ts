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
      if (USED_KEYWORDS.has(parsed.keyword)) out.push({ keyword: parsed.keyword, args: parsed.args, text: shown, source: name, path: origin.path || name, fromConfig: false, ...(where ? { location: where } : {}) });
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
      out.push({ keyword: FLAGS_WITH_VALUE[flag] as string, args: [value], text: `-${flag} ${value}`, source: name, path: origin.path || name, fromConfig: false, ...(where ? { location: where } : {}) });
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

/** Resolve one host's connection. Problems go to the builder (issues refuse, warnings inform). */
export function buildConnection(hostName: string, r: HostResolver, ctx: ConnectionContext): ConnectionSpec {
  const b = ctx.b;
  const issueAt = (p: { origin: Origin; name: string }, message: string): void => b.issue(message, p.origin.location, p.origin.path || p.name);

  /** The value, with `{{ }}` rendered against the host's variables. */
  const value = (p: Picked | undefined): unknown => {
    if (!p) return undefined;
    if (typeof p.value === 'string' && isTemplated(p.value)) {
      try {
        const rendered = renderValue(p.value, { ...r.vars, ...ctx.magic });
        if (typeof rendered === 'string' && isTemplated(rendered)) throw new Error('still a template after rendering');
        const problem = renderedValueProblem(p.name, rendered);
        if (problem) throw new Error(`${JSON.stringify(rendered)}: ${problem}`);
        return rendered;
      } catch (err) {
        issueAt(p, `cannot render ${p.name} for host ${hostName}: ${(err as Error).message}`);
        return undefined;
      }
    }
    return p.value;
  };
  const str = (p: Picked | undefined): string | undefined => {
    const v = value(p);
    return v === undefined || v === null ? undefined : String(v);
  };
  const relPath = (p: Picked, v: string): string => {
    const e = expandHome(v, ctx.home);
    return isAbsolute(e) ? e : resolve(p.origin.baseDir ?? ctx.cwd, e);
  };

  // every secret, whatever its spelling and whether or not it wins
  for (const [k, v] of Object.entries(r.vars)) {
    if (isSecretName(k) && !k.endsWith('_env') && (typeof v === 'string' || typeof v === 'number')) {
      const s = String(v);
      if (s !== '') ctx.secrets.add(s);
    }
  }
  for (const k of Object.keys(r.vars)) {
    if ((ANSIBLE_UNUSED_VARS.has(k) || ANSIBLE_INTERPRETER_RE.test(k)) && !ctx.warnedVars.has(k)) {
      ctx.warnedVars.add(k);
      const o = r.origins.get(k)?.origin;
      b.warn(`not used by provision: ${k}`, o?.location);
    }
  }

  const secret = (p: Picked | undefined, label: string): string | undefined => {
    if (!p) return undefined;
    let v: string | undefined;
    if (p.name.endsWith('_env')) {
      const varName = String(p.value);
      v = ctx.env[varName];
      if (v === undefined) {
        issueAt(p, `environment variable ${varName} is not set (${label} for host ${hostName})`);
        return undefined;
      }
    } else v = str(p);
    if (v !== undefined && v !== '') ctx.secrets.add(v);
    return v;
  };

  const conn = str(pick(r, CONNECTION_SETTINGS.connection));
  const connection: 'ssh' | 'local' = conn === 'local' ? 'local' : 'ssh';
  const hostPick = pick(r, CONNECTION_SETTINGS.host);
  const destination = str(hostPick) ?? hostName;
  const portPick = pick(r, CONNECTION_SETTINGS.port);
  const portValue = value(portPick);
  const userPick = pick(r, CONNECTION_SETTINGS.user);
  const identityPick = pick(r, CONNECTION_SETTINGS.identityFile);
  const timeoutPick = pick(r, CONNECTION_SETTINGS.connectTimeout);
  const timeoutValue = value(timeoutPick);
  const knownHostsPick = pick(r, { native: ['known_hosts_file'], ansible: [] });
  const policyPick = pick(r, { native: ['host_key_policy'], ansible: [] });

  const spec: ConnectionSpec = {
    connection,
    host: destination,
    port: portValue !== undefined && portValue !== null ? Number(portValue) : 22,
    hostKeyPolicy: value(policyPick) === 'accept-new' ? 'accept-new' : 'strict',
    jump: [],
    connectTimeoutMs: timeoutValue !== undefined && timeoutValue !== null ? Math.round(Number(timeoutValue) * 1000) : DEFAULT_CONNECT_TIMEOUT_MS,
    portMap: Object.fromEntries(Object.entries((value(pick(r, { native: ['port_map'], ansible: [] })) ?? {}) as Record<string, number>).map(([k, v]) => [Number(k), v])),
  };
  const become = pick(r, CONNECTION_SETTINGS.become);
  if (become) spec.become = ansibleBool(value(become));
  const becomeUser = str(pick(r, CONNECTION_SETTINGS.becomeUser));
  if (becomeUser !== undefined) spec.becomeUser = becomeUser;
  const user = str(userPick);
  if (user !== undefined) spec.user = user;
  const identity = str(identityPick);
  if (identity !== undefined && identityPick) spec.identityFile = relPath(identityPick, identity);
  const knownHosts = str(knownHostsPick);
  if (knownHosts !== undefined && knownHostsPick) spec.knownHostsFile = relPath(knownHostsPick, knownHosts);
  const passphrase = secret(pick(r, { native: ['passphrase_env'], ansible: [] }), 'key passphrase');
  if (passphrase !== undefined) spec.passphrase = passphrase;
  const password = secret(pick(r, CONNECTION_SETTINGS.password), 'SSH password');
  if (password !== undefined) spec.password = password;
  const becomePassword = secret(pick(r, CONNECTION_SETTINGS.becomePassword), 'sudo password');
  if (becomePassword !== undefined) spec.becomePassword = becomePassword;

  const jumpPick = pick(r, { native: ['jump'], ansible: [] });
  if (jumpPick) spec.jump = nativeJumps(jumpPick, value(jumpPick), ctx, relPath);

  if (connection === 'local') return spec;

  // ---- ssh options: arguments first (in Ansible's command-line order), then ~/.ssh/config
  const obtained = new Map<string, Obtained[]>();
  const add = (keyword: string, o: Obtained): void => {
    const list = obtained.get(keyword) ?? [];
    list.push(o);
    obtained.set(keyword, list);
  };
  const argsVar = (name: string): void => {
    const o = r.origins.get(name);
    const v = r.vars[name];
    if (!o || !defined(v) || v === '') return;
    const text = value({ name, value: v, rank: o.rank, origin: o.origin });
    if (typeof text !== 'string') return;
    for (const x of parseSshArgs(name, text, o.origin, ctx)) add(x.keyword, x);
  };
  argsVar('ansible_ssh_args');
  const hkc = pick(r, CONNECTION_SETTINGS.hostKeyChecking);
  if (hkc && !ansibleBool(value(hkc))) {
    add('stricthostkeychecking', { keyword: 'stricthostkeychecking', args: ['no'], text: 'false', source: hkc.name, path: hkc.origin.path || hkc.name, fromConfig: false, ...(hkc.origin.location ? { location: hkc.origin.location } : {}) });
  }
  argsVar('ansible_ssh_common_args');
  argsVar('ansible_ssh_extra_args');
  const config = sshConfigFor(ctx.sshConfig, destination);
  for (const [keyword, values] of config) {
    for (const v of values) {
      const o: Obtained = { keyword, args: v.args, text: `${keywordName(keyword)} ${v.args.join(' ')}`, source: v.location.file, fromConfig: true, location: v.location };
      if (USED_KEYWORDS.has(keyword)) add(keyword, o);
      else if (UNFOLLOWED_CONFIG_KEYWORDS.has(keyword)) b.warn(`ssh config ${v.args.length ? `${keywordName(keyword)} ${v.args.join(' ')}` : keywordName(keyword)} applies to ${destination}, but provision does not follow ${keywordName(keyword)}${keyword === 'proxycommand' ? ' (use ProxyJump)' : ''}`, v.location);
    }
  }
  const first = (k: string): Obtained | undefined => obtained.get(k)?.[0];
  /** How an option is named in warnings (which have no field path). */
  const where = (o: Obtained): string => (o.fromConfig ? `ssh config ${o.text}` : `${o.source}: ${o.text}`);
  /** An error about an option: at its place, under the variable's path when it comes from one. */
  const refuse = (o: Obtained, message: string): void =>
    o.fromConfig ? b.issue(`ssh config ${o.text}: ${message}`, o.location) : b.issue(`${o.text}: ${message}`, o.location, o.path ?? o.source);
  const badValue = refuse;

  const hostNameOpt = first('hostname');
  if (hostNameOpt) spec.host = expandTokens(hostNameOpt.args[0] ?? destination, { h: destination }, (t) => b.warn(`${where(hostNameOpt)}: token ${t} is not supported here`, hostNameOpt.location));
  if (!portPick) {
    const o = first('port');
    if (o) {
      const n = Number(o.args[0]);
      if (!/^[0-9]+$/.test(o.args[0] ?? '') || n < 1 || n > 65535) badValue(o, `expected a port number, got ${JSON.stringify(o.args[0])}`);
      else spec.port = n;
    }
  }
  if (!userPick) {
    const o = first('user');
    if (o?.args[0]) spec.user = o.args[0];
  }
  if (!timeoutPick) {
    const o = first('connecttimeout');
    if (o) {
      const n = Number(o.args[0]);
      if (!(n > 0)) badValue(o, `expected seconds, got ${JSON.stringify(o.args[0])}`);
      else spec.connectTimeoutMs = Math.round(n * 1000);
    }
  }
  const tokens = (): Record<string, string> => ({
    d: ctx.home,
    h: spec.host,
    n: destination,
    p: String(spec.port),
    r: spec.user ?? userInfo().username,
    u: userInfo().username,
    l: hostname(),
    L: hostname().split('.')[0] ?? '',
    i: String(userInfo().uid),
  });
  const pathOpt = (o: Obtained, raw: string): string => {
    let p = raw.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, name: string) => ctx.env[name] ?? all);
    p = expandTokens(p, tokens(), (t) => b.warn(`${where(o)}: token ${t} is not supported; used as written`, o.location));
    p = expandHome(p, ctx.home);
    return isAbsolute(p) ? p : resolve(ctx.cwd, p);
  };
  const identities = obtained.get('identityfile') ?? [];
  if (!identityPick && identities[0]) {
    const o = identities[0];
    spec.identityFile = pathOpt(o, o.args[0] ?? '');
    const others = identities.slice(1).map((x) => x.args[0]).filter((x) => x !== undefined);
    if (others.length) b.warn(`${destination}: only the first IdentityFile is used (${o.args[0]}); not tried: ${others.join(', ')}`, o.location);
  } else if (identityPick && identities.length) {
    const o = identities[0] as Obtained;
    if (!o.fromConfig) b.warn(`${where(o)}: not used, ${identityPick.name} sets the key for ${hostName}`, o.location);
  }
  const only = first('identitiesonly');
  if (only) {
    const v = boolWord(only.args[0]);
    if (v === undefined) badValue(only, `expected yes or no, got ${JSON.stringify(only.args[0])}`);
    else if (v) spec.identitiesOnly = true;
    else if (spec.identityFile) b.warn(`${where(only)}: provision offers only the identity file when one is set (ssh-agent keys are not tried)`, only.location);
  }
  if (!knownHostsPick) {
    const o = first('userknownhostsfile');
    if (o) {
      const files = o.args;
      if (files[0] === 'none') b.warn(`${where(o)}: provision still checks host keys against ~/.ssh/known_hosts`, o.location);
      else if (files[0]) {
        spec.knownHostsFile = pathOpt(o, files[0]);
        if (files.length > 1) b.warn(`${where(o)}: only the first file is used (${files[0]}); not read: ${files.slice(1).join(' ')}`, o.location);
      }
    }
  }
  const strict = first('stricthostkeychecking');
  if (strict) {
    const v = (strict.args[0] ?? '').toLowerCase();
    const decided = policyPick ? `host_key_policy: ${spec.hostKeyPolicy}` : ctx.hostKeyPolicy ? `--host-key-policy ${ctx.hostKeyPolicy}` : undefined;
    if (v === 'no' || v === 'off') {
      if (decided) b.warn(`${where(strict)}: not applied, provision never skips host-key checks (${decided} decides)`, strict.location);
      else
        refuse(
          strict,
          'provision never skips host-key checks; remove it, or set host_key_policy: accept-new in the inventory (or --host-key-policy accept-new): unknown keys are then recorded, changed keys still refused',
        );
    } else if (!policyPick) {
      if (v === 'accept-new') spec.hostKeyPolicy = 'accept-new';
      else if (v === 'yes' || v === 'true') spec.hostKeyPolicy = 'strict';
      else if (v === 'ask') b.warn(`${where(strict)}: provision does not ask; unknown host keys are refused (strict)`, strict.location);
      else badValue(strict, `expected yes, accept-new or no, got ${JSON.stringify(strict.args[0])}`);
    }
  }
  if (!jumpPick) {
    const o = first('proxyjump');
    if (o && o.args[0] && o.args[0].toLowerCase() !== 'none') spec.jump = proxyJumps(o.args.join(','), (m) => badValue(o, m));
  }
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

function nativeJumps(p: Picked, v: unknown, ctx: ConnectionContext, relPath: (p: Picked, v: string) => string): JumpSpec[] {
  const out: JumpSpec[] = [];
  const hops: unknown[] = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : Array.isArray(v) ? v : [];
  for (const hop of hops) {
    if (typeof hop === 'string') {
      const parsed = parseHostString(hop);
      if (!parsed) {
        ctx.b.issue(`invalid jump host ${JSON.stringify(hop)}: expected user@host:port (user and port optional)`, p.origin.location, p.origin.path);
        continue;
      }
      const j: JumpSpec = { host: parsed.host, port: parsed.port ?? 0 };
      if (parsed.user) j.user = parsed.user;
      out.push(j);
    } else if (hop && typeof hop === 'object') {
      const o = hop as { host: string; port?: number; user?: string; identity_file?: string };
      const j: JumpSpec = { host: o.host, port: o.port ?? 0 };
      if (o.user) j.user = o.user;
      if (o.identity_file) j.identityFile = relPath(p, o.identity_file);
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
