/**
 * A fact is a shell command plus a pure parser. The runner reads every fact a
 * task needs in one batched round trip and caches the parsed value per host.
 */

export interface Fact<A, T> {
  /** Stable name, e.g. `file`, `users`, `iptables_save`. */
  readonly name: string;
  /** Shell command whose stdout is handed to `parse`. Values must be quoted with `quote`/`sh`. */
  command(args: A): string;
  /** Pure: turn the command's stdout (and exit code) into a value. Throw to fail the task. */
  parse(stdout: string, args: A, exitCode: number): T;
  /** Cache key for these arguments (default: JSON of the args). */
  key?(args: A): string;
  /**
   * Arguments whose command answers for all of `args` at once: the parser of
   * each reads that command's output as its own (a batch runs one command for
   * the reads of this fact by the same user, core/host.ts).
   */
  merge?(args: readonly A[]): A;
}

export interface FactRequest<T = unknown> {
  readonly fact: Fact<never, T>;
  readonly args: unknown;
  /** `name:key`, unique per fact and arguments. */
  readonly id: string;
  /** Parse the raw output (bound to this request's arguments). */
  parse(stdout: string, exitCode: number): T;
  readonly command: string;
}

/** Bind a fact to its arguments. */
export function req<A, T>(fact: Fact<A, T>, args: A): FactRequest<T> {
  const key = fact.key ? fact.key(args) : JSON.stringify(args ?? null);
  return {
    fact: fact as unknown as Fact<never, T>,
    args,
    id: `${fact.name}:${key}`,
    command: fact.command(args),
    parse: (stdout, exitCode) => fact.parse(stdout, args, exitCode),
  };
}

/** The parsed values of a task's fact requests (an optional request gives an optional value). */
export type FactValues<F extends Record<string, FactRequest>> = {
  [K in keyof F]: NonNullable<F[K]> extends FactRequest<infer T> ? T : never;
};
