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

type ShValue = string | number | ReadonlyArray<string | number>;

function render(value: ShValue): string {
  if (Array.isArray(value)) return value.map((v) => quote(v as string | number)).join(' ');
  return quote(value as string | number);
}

/**
 * zx-style tagged template: `sh\`useradd -m ${name}\`` quotes every interpolation;
 * arrays become several words.
 */
export function sh(strings: TemplateStringsArray, ...values: ShValue[]): string {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += render(v) + (strings[i + 1] ?? '');
  });
  return out;
}
