/**
 * Secret masking. Every string that leaves the process (terminal, logs,
 * reports, diffs, error messages) goes through `mask` of the run's Secrets.
 */

export const MASK = '********';

/** Variable names whose values are secrets without being declared so. */
const SECRET_WORDS = /(password|passwd|passphrase|secret|token|private_key|api_key)/i;
/**
 * `pass` or `pwd` as the last word of the name: `ansible_ssh_pass`,
 * `ansible_become_pass`, `ansible_sudo_pass`, `db_pwd`, `pass`, `dbPass`; not
 * `bypass`, `compass`, `passenger`, `oldpwd`.
 */
const SECRET_LAST_WORD = /(?:^|[_.-])(?:pass|pwd)$/i;
const SECRET_LAST_CAMEL = /[a-z0-9](?:Pass|Pwd)$/;
/** A file holding a secret, or the name of the environment variable holding it, is not the secret. */
const NOT_THE_SECRET = /_(?:file|path|env)$/i;

export function isSecretName(name: string): boolean {
  if (NOT_THE_SECRET.test(name)) return false;
  return SECRET_WORDS.test(name) || SECRET_LAST_WORD.test(name) || SECRET_LAST_CAMEL.test(name);
}

/** Secrets at least this long are also found split across lines (wrapped output); shorter ones would match ordinary text. */
const SPLIT_MIN = 8;

/**
 * The forms a secret takes on its way to an output: as written, shell-quoted
 * by us ('it'\''s') or by Jinja's `quote` ('it'"'"'s'), JSON-escaped; and, for
 * secrets long enough not to match ordinary words, as the `upper`, `lower` and
 * `b64encode` filters leave it.
 */
function formsOf(v: string): string[] {
  const forms = [v, v.replace(/'/g, `'\\''`), v.replace(/'/g, `'"'"'`), JSON.stringify(v).slice(1, -1)];
  if (v.length >= SPLIT_MIN) forms.push(v.toUpperCase(), v.toLowerCase(), Buffer.from(v, 'utf8').toString('base64'));
  return forms;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class Secrets {
  private values: string[] = [];
  /** Secrets long enough to look for when a line break falls inside them. */
  private split: RegExp | undefined;
  private splitSources: string[] = [];

  add(...values: readonly (string | undefined | null)[]): void {
    let added = false;
    for (const v of values) {
      // one-character "secrets" would blank out ordinary text; two is the floor
      if (typeof v !== 'string' || v.length < 2) continue;
      for (const form of formsOf(v)) {
        if (form.length >= 2 && !this.values.includes(form)) {
          this.values.push(form);
          added = true;
        }
      }
      if (v.length >= SPLIT_MIN && !this.splitSources.includes(v)) {
        this.splitSources.push(v);
        this.split = undefined;
      }
    }
    if (added) this.values.sort((a, b) => b.length - a.length);
  }

  /** One pattern for every long secret with optional line breaks (and the indentation after them) between its characters. */
  private splitPattern(): RegExp | undefined {
    if (!this.split && this.splitSources.length > 0) {
      const alternatives = [...this.splitSources].sort((a, b) => b.length - a.length).map((v) => [...v].map(escapeRe).join('(?:\\r?\\n[ \\t]*)?'));
      this.split = new RegExp(alternatives.join('|'), 'g');
    }
    return this.split;
  }

  /** Register every string value of variables whose name marks them secret (deep). */
  addFromVars(vars: Readonly<Record<string, unknown>>): void {
    // one object can be reached under a secret name and under another (YAML aliases share objects)
    const seen = { true: new Set<unknown>(), false: new Set<unknown>() };
    const walk = (value: unknown, secret: boolean): void => {
      if (typeof value === 'string') {
        if (secret) this.add(value);
        return;
      }
      if (!value || typeof value !== 'object' || seen[`${secret}`].has(value)) return;
      seen[`${secret}`].add(value);
      if (Array.isArray(value)) for (const v of value) walk(v, secret);
      else for (const [k, v] of Object.entries(value)) walk(v, secret || isSecretName(k));
    };
    walk(vars, false);
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
    if (out.includes('\n')) {
      const split = this.splitPattern();
      if (split) out = out.replace(split, MASK);
    }
    return out;
  }

  /** Mask every string inside a JSON-like value. */
  maskDeep<T>(value: T): T {
    if (typeof value === 'string') return this.mask(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.maskDeep(v)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.maskDeep(v)])) as T;
    }
    return value;
  }
}
