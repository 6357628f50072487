/**
 * Which hosts each play runs on: the play's pattern, intersected with
 * `--limit`, then `--shard K/N` of what is left over the whole run (so shards
 * are balanced over the hosts that really run). Used by the runner and by
 * `--list-hosts`, so both agree.
 */
import type { Inventory } from './inventory.js';
import { ValidationError, type ValidationIssue } from '../contract/errors.js';
import { invalidRegexes, selectHosts, unmatchedPatterns } from './patterns.js';
import type { PlayDef, Playbook, TaskDef } from './playbook.js';
import { shardHosts, type Shard } from './shard.js';

export interface SelectOptions {
  /** Extra host pattern every play's hosts are intersected with (--limit). */
  limit?: string;
  shard?: Shard;
}

export interface PlaySelection {
  play: PlayDef;
  /** In inventory order. */
  hosts: string[];
}

/** Refuse host patterns that cannot be evaluated (an invalid `~regex`), naming where they are. */
function checkPatterns(playbook: Playbook, inventory: Inventory, o: SelectOptions): void {
  const issues: ValidationIssue[] = playbook.plays.flatMap((play) =>
    invalidRegexes(play.hosts, inventory).map((message) => ({ location: play.location, path: 'hosts', message: `host pattern ${message}` })),
  );
  if (o.limit !== undefined) issues.push(...invalidRegexes(o.limit, inventory).map((message) => ({ path: '--limit', message: `host pattern ${message}` })));
  if (issues.length > 0) throw new ValidationError(issues);
}

export function selectPlays(playbook: Playbook, inventory: Inventory, o: SelectOptions = {}): PlaySelection[] {
  checkPatterns(playbook, inventory, o);
  const limited = o.limit !== undefined ? new Set(selectHosts(o.limit, inventory)) : undefined;
  const perPlay = playbook.plays.map((play) => ({ play, hosts: selectHosts(play.hosts, inventory).filter((h) => !limited || limited.has(h)) }));
  if (!o.shard) return perPlay;
  const inShard = new Set(shardHosts(perPlay.flatMap((p) => p.hosts), o.shard));
  return perPlay.map((p) => ({ play: p.play, hosts: p.hosts.filter((h) => inShard.has(h)) }));
}

/** A warning for every part of a play's host pattern (or of --limit) that matches no host. */
export function patternWarnings(playbook: Playbook, inventory: Inventory, o: SelectOptions = {}): string[] {
  const out = playbook.plays.flatMap((play) => unmatchedPatterns(play.hosts, inventory).map((p) => `play "${play.name}": host pattern "${p}" matches no host`));
  if (o.limit !== undefined) out.push(...unmatchedPatterns(o.limit, inventory).map((p) => `--limit: pattern "${p}" matches no host`));
  return out;
}

/** Does `--tags`/`--skip-tags` select this task (its own tags and its play's; `always` runs unless skipped by name)? */
export function matchesTags(task: Pick<TaskDef, 'tags'>, play: Pick<PlayDef, 'tags'>, tags: readonly string[] | undefined, skip: readonly string[] | undefined): boolean {
  const all = new Set([...task.tags, ...play.tags]);
  if (all.has('always')) return !skip?.some((t) => all.has(t) && t !== 'always');
  if (tags && tags.length > 0 && !tags.some((t) => t === 'all' || all.has(t))) return false;
  if (skip && skip.some((t) => all.has(t))) return false;
  return true;
}

/** Split hosts into serial batches (`serial: 2`, `"30%"`, `[1, 5, "25%"]`); the last size repeats. */
export function batches(hosts: readonly string[], serial: readonly (number | string)[] | undefined): string[][] {
  if (!serial || serial.length === 0) return hosts.length ? [hosts.slice()] : [];
  const size = (s: number | string): number => {
    if (typeof s === 'number') return Math.max(1, s);
    const pct = Number.parseFloat(s);
    return Math.max(1, Math.floor((hosts.length * pct) / 100));
  };
  const out: string[][] = [];
  let i = 0;
  let step = 0;
  while (i < hosts.length) {
    const n = size(serial[Math.min(step, serial.length - 1)]!);
    out.push(hosts.slice(i, i + n));
    i += n;
    step++;
  }
  return out;
}
