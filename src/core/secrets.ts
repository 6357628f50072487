/**
 * Secret masking. Every string that leaves the process (terminal, logs,
 * reports, diffs, error messages) goes through `mask` of the run's Secrets.
 */

export const MASK = '********';

/** Variable names whose values are secrets without being declared so. */
const SECRET_NAME = /(password|passwd|passphrase|secret|token|private_key|api_key)/i;

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export class Secrets {
  private values: string[] = [];

  add(...values: readonly (string | undefined | null)[]): void {
    for (const v of values) {
      // one-character "secrets" would blank out ordinary text; two is the floor
      if (typeof v !== 'string' || v.length < 2) continue;
      // messages show values as they appear in commands ('it'\''s') and as JSON strings ("a\"b"): mask those forms too
      for (const form of [v, v.replace(/'/g, `'\\''`), JSON.stringify(v).slice(1, -1)]) {
        if (!this.values.includes(form)) this.values.push(form);
      }
    }
    this.values.sort((a, b) => b.length - a.length);
  }

  /** Register every string value of variables whose name marks them secret (deep). */
  addFromVars(vars: Readonly<Record<string, unknown>>): void {
    const walk = (value: unknown, secret: boolean): void => {
      if (typeof value === 'string') {
        if (secret) this.add(value);
      } else if (Array.isArray(value)) {
        for (const v of value) walk(v, secret);
      } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(v, secret || isSecretName(k));
      }
    };
    walk(vars, false);
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(MASK);
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
