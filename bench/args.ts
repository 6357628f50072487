/** The bench scripts' command line: `--name value` options and bare `--flag`s, and the median they report. */
export const args = process.argv.slice(2);

/** The value after `name`, or `def` when it is not given. */
export function opt(name: string, def: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
}

export const flag = (name: string): boolean => args.includes(name);

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
