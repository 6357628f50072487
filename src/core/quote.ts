/**
 * The one place where values become shell words. Every value that reaches a
 * remote shell goes through `quote` (directly or via the `sh` tagged template).
 */

const SAFE = /^[A-Za-z0-9_\-+=.,/:@%^]+$/;

/** Quote a value as one POSIX shell word. NUL bytes cannot be passed in argv and are rejected. */
export function quote(value: string | number): string {
  const s = String(value);
  if (s.includes('\0')) throw new TypeError('a shell argument cannot contain a NUL byte');
  if (s !== '' && SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A fragment of shell that is already safe and must not be quoted again. */
export class Raw {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const raw = (text: string): Raw => new Raw(text);

type ShValue = string | number | Raw | ReadonlyArray<string | number | Raw>;

function render(value: ShValue): string {
  if (value instanceof Raw) return value.text;
  if (Array.isArray(value)) return value.map((v) => render(v as ShValue)).join(' ');
  return quote(value as string | number);
}

/**
 * zx-style tagged template: `sh\`useradd -m ${name}\`` quotes every interpolation;
 * arrays become several words; `raw()` passes trusted shell through.
 */
export function sh(strings: TemplateStringsArray, ...values: ShValue[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return out;
}
