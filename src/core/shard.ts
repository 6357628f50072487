/**
 * `--shard K/N`: split the hosts of a run into N deterministic slices so N CI
 * jobs can each run one, then `provision report merge` their JSON reports.
 *
 * Algorithm: the selected host names are sorted by UTF-16 code units (not
 * locale: the same order on every machine), and the i-th name (0-based) goes
 * to shard (i mod N) + 1. Every host is in exactly one shard and shard sizes
 * differ by at most one. The slice depends on the whole selected set: adding
 * or removing a host can move others to another shard (fine for per-run CI
 * matrices; do not use shard numbers as a long-lived host assignment).
 */
import { ValidationError } from '../contract/errors.js';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new ValidationError([{ path: '--shard', message: `expected K/N with 1 <= K <= N (e.g. 2/4), got "${spec}"` }]);
  }
  return { index, count };
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The hosts of `hosts` that belong to shard K of N (in sorted order). */
export function shardHosts(hosts: Iterable<string>, shard: Shard): string[] {
  const sorted = [...new Set(hosts)].sort(byCodeUnits);
  return sorted.filter((_, i) => i % shard.count === shard.index - 1);
}
