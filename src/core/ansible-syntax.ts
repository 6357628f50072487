/**
 * Ansible's older spellings of a task, read as Ansible reads them:
 *
 * - `key=value` argument strings (`service: name=nginx state=started`) and the
 *   free form of `command`/`shell` with `chdir=`/`creates=`/`removes=` in it,
 *   split like ansible.parsing.splitter (quotes, escapes, `{{ }}` kept whole,
 *   a lone `\` joining lines);
 * - collection-qualified names (`ansible.builtin.copy`) of our own task types.
 *
 * Pure text handling; what the pieces mean is the loader's business.
 */

/**
 * The collection each Ansible module of ours lives in; `ansible.legacy.` is
 * accepted wherever `ansible.builtin.` is (it resolves to builtin). Task types
 * of provision's own (sshd_config, fail2ban...) have no collection name.
 */
const BUILTIN = [
  ...['command', 'shell', 'copy', 'template', 'lineinfile', 'blockinfile', 'replace', 'file', 'stat', 'get_url', 'unarchive', 'git'],
  ...['package', 'apt', 'apt_key', 'apt_repository', 'dnf', 'yum', 'rpm_key', 'service', 'systemd', 'systemd_service', 'user', 'group', 'iptables', 'cron', 'reboot', 'script'],
  ...['wait_for', 'ping', 'set_fact', 'debug', 'assert', 'fail', 'meta', 'include_vars'],
  ...['include_tasks', 'import_tasks', 'include_role', 'import_role', 'include'],
];
const POSIX = ['sysctl', 'authorized_key', 'firewalld', 'mount', 'seboolean', 'selinux'];
const COMMUNITY_GENERAL = ['ufw', 'npm', 'timezone', 'modprobe', 'locale_gen', 'alternatives', 'seport'];

export const MODULE_COLLECTIONS: Readonly<Record<string, string>> = Object.fromEntries([
  ...BUILTIN.map((m) => [m, 'ansible.builtin']),
  ...POSIX.map((m) => [m, 'ansible.posix']),
  ...COMMUNITY_GENERAL.map((m) => [m, 'community.general']),
]);

/** `namespace.collection.module` split, or undefined for a short name. */
function qualified(key: string): { collection: string; short: string } | undefined {
  const m = /^([A-Za-z0-9_]+\.[A-Za-z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(key);
  return m ? { collection: m[1] as string, short: m[2] as string } : undefined;
}

/** The module name without its collection: `community.general.nmcli` → `nmcli`. */
export const unqualified = (key: string): string => qualified(key)?.short ?? key;

const inCollection = (short: string, collection: string): boolean => {
  const home = MODULE_COLLECTIONS[short];
  return home !== undefined && (collection === home || (home === 'ansible.builtin' && collection === 'ansible.legacy'));
};

/** `ansible.builtin.copy` → `copy` when `known(copy)` and copy lives in that collection; other names as they are. */
export function shortName(key: string, known: (name: string) => boolean): string {
  const q = qualified(key);
  return q && known(q.short) && inCollection(q.short, q.collection) ? q.short : key;
}

/**
 * Why a collection-qualified name of one of our task types is wrong
 * (`ansible.posix.command`), naming the right one; undefined when it is right
 * or is not a task type of ours.
 */
export function collectionError(key: string, known: (name: string) => boolean): string | undefined {
  const q = qualified(key);
  if (!q || !known(q.short) || inCollection(q.short, q.collection)) return undefined;
  const home = MODULE_COLLECTIONS[q.short];
  if (home === undefined) return `${key}: ${q.short} is a task type of provision's own, not an Ansible module: write ${q.short}`;
  return `${key}: there is no ${q.short} in ${q.collection}: write ${home}.${q.short} (or ${q.short})`;
}

/** The error splitting throws; the loader turns it into a located validation issue. */
export class ArgsSyntaxError extends Error {}

/** Which quote (if any) is still open after `token`, given the one open before it (a `\` before a quote escapes it). */
function openQuote(token: string, open: string | undefined): string | undefined {
  let q = open;
  for (let i = 0; i < token.length; i++) {
    const c = token[i] as string;
    if ((c === '"' || c === "'") && (i === 0 || token[i - 1] !== '\\')) {
      if (q === undefined) q = c;
      else if (c === q) q = undefined;
    }
  }
  return q;
}

/** Depth of `{{ }}` / `{% %}` / `{# #}` after a token: only an unbalanced token moves it. */
function depthAfter(token: string, depth: number, open: string, close: string): number {
  const opened = token.split(open).length - 1;
  const closed = token.split(close).length - 1;
  if (opened === closed) return depth;
  return Math.max(0, depth + opened - closed);
}

const JINJA_PAIRS: readonly (readonly [string, string])[] = [
  ['{{', '}}'],
  ['{%', '%}'],
  ['{#', '#}'],
];

/**
 * Split on spaces and newlines, keeping together what a quote or a Jinja block
 * holds, and keeping the whitespace inside them (split_args).
 */
export function splitArgs(text: string): string[] {
  const params: string[] = [];
  const appendToLast = (s: string): void => {
    if (params.length === 0) throw new ArgsSyntaxError(`cannot parse the argument string ${JSON.stringify(text)}`);
    params[params.length - 1] += s;
  };
  let quote: string | undefined;
  const depths = [0, 0, 0];
  const inJinja = (): boolean => depths.some((d) => d > 0);
  const lines = text.split('\n');
  lines.forEach((line, lineNo) => {
    const tokens = line.split(' ');
    let continued = false;
    tokens.forEach((token, idx) => {
      if (token === '' && idx !== 0) {
        appendToLast(' ');
        return;
      }
      if (token === '\\' && quote === undefined) {
        continued = true;
        return;
      }
      const wasQuoted = quote !== undefined;
      quote = openQuote(token, quote);
      const quoted = quote !== undefined;
      let appended = false;
      if (quoted && !wasQuoted && !inJinja()) {
        params.push(token);
        appended = true;
      } else if (inJinja() || quoted || wasQuoted) {
        if (idx === 0 && wasQuoted) appendToLast(token);
        else if (tokens.length > 1) appendToLast(`${idx > 0 ? ' ' : ''}${token}`);
        else appendToLast(`\n${token}`);
        appended = true;
      }
      JINJA_PAIRS.forEach(([open, close], k) => {
        const before = depths[k] as number;
        depths[k] = depthAfter(token, before, open, close);
        if (depths[k] !== before && !appended) {
          params.push(token);
          appended = true;
        }
      });
      if (!inJinja() && !quoted && !appended && token !== '') params.push(token);
    });
    if (lines.length > 1 && lineNo !== lines.length - 1 && !continued) appendToLast('\n');
  });
  if (inJinja() || quote !== undefined) {
    throw new ArgsSyntaxError(`unbalanced quotes or {{ }} / {% %} in the argument string ${JSON.stringify(text)}`);
  }
  return params;
}

/** Put split words back together: a space between them, none after a newline (join_args). */
export function joinArgs(words: readonly string[]): string {
  let out = '';
  for (const w of words) out += out === '' || out.endsWith('\n') ? w : ` ${w}`;
  return out;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** Python's escape sequences in a `key=value` word (`\n`, `\t`, `\x41`, `\u00e9`...). */
function decodeEscapes(word: string): string {
  return word.replace(/\\(U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|N\{[^}]+\}|[\\'"abfnrtv])/g, (whole, body: string) => {
    const head = body[0] as string;
    if (head === 'N') throw new ArgsSyntaxError(`the escape ${whole} (a character by its Unicode name) is not supported: write the character itself`);
    if (head === 'U' || head === 'u' || head === 'x') return String.fromCodePoint(Number.parseInt(body.slice(1), 16));
    return SIMPLE_ESCAPES[head] as string;
  });
}

/** `"text"` or `'text'` without its quotes (a closing quote escaped by `\` does not count). */
export function unquote(s: string): string {
  const quoted = s.length > 1 && s[0] === s[s.length - 1] && (s[0] === '"' || s[0] === "'") && s[s.length - 2] !== '\\';
  return quoted ? s.slice(1, -1) : s;
}

/** Options `command`/`shell` take in their free form; any other `k=v` there is part of the command. */
export const FREE_FORM_OPTIONS: readonly string[] = ['creates', 'removes', 'chdir', 'executable', 'warn', 'stdin', 'stdin_add_newline', 'strip_empty_ends'];

export interface KeyValues {
  options: Record<string, string>;
  /** The words that are not `key=value` (or, for a free form, not one of its options), joined back. */
  raw?: string;
}

/**
 * `name=nginx state=started` → `{ name: 'nginx', state: 'started' }` (values are
 * text, as in Ansible; the loader converts them where the task wants a boolean
 * or a number). With `freeForm`, only FREE_FORM_OPTIONS are options and the rest
 * is the command (parse_kv with check_raw).
 */
export function parseKeyValues(text: string, freeForm = false): KeyValues {
  const options: Record<string, string> = {};
  const raw: string[] = [];
  for (const word of splitArgs(text)) {
    const x = decodeEscapes(word);
    // the first `=` not preceded by a backslash (and not the first character) separates key and value
    let pos = x.indexOf('=', 1);
    while (pos > 0 && x[pos - 1] === '\\') pos = x.indexOf('=', pos + 1);
    if (!x.includes('=')) raw.push(word);
    else if (pos < 0) raw.push(x.replace(/\\=/g, '='));
    else {
      const key = x.slice(0, pos);
      if (freeForm && !FREE_FORM_OPTIONS.includes(key)) raw.push(word);
      else options[key.trim()] = unquote(x.slice(pos + 1).trim());
    }
  }
  return raw.length > 0 ? { options, raw: joinArgs(raw) } : { options };
}

const TRUE_WORDS = new Set(['y', 'yes', 'on', '1', 'true', 't']);
const FALSE_WORDS = new Set(['n', 'no', 'off', '0', 'false', 'f']);

/** How Ansible's argument spec reads text given for a boolean option (`yes`, `off`, `1`...); undefined when it is not one. */
export function ansibleBoolean(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (TRUE_WORDS.has(t)) return true;
  if (FALSE_WORDS.has(t)) return false;
  return undefined;
}
