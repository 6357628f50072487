/**
 * Which hosts each play runs on: the play's pattern, intersected with
 * `--limit`, then `--shard K/N` of what is left over the whole run (so shards
 * are balanced over the hosts that really run). Used by the runner and by
 * `--list-hosts`, so both agree.
 */
import type { Inventory } from './inventory.js';
import { ValidationError, type SourceLocation, type ValidationIssue } from '../contract/errors.js';
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

/** A host pattern to select for: a play's `hosts`, or an ad-hoc command's pattern. */
export interface Target {
  pattern: string;
  /** How warnings name it (`play "web"`); none for a lone pattern. */
  label?: string;
  location?: SourceLocation;
}

/**
 * The hosts of each target, in inventory order: its pattern ∩ `--limit`, then
 * `--shard K/N` over all targets' hosts together. A pattern that cannot be
 * evaluated (an invalid `~regex`) is refused, naming where it is.
 */
export function selectTargets(targets: readonly Target[], inventory: Inventory, o: SelectOptions = {}): string[][] {
  const issues: ValidationIssue[] = targets.flatMap((t) =>
    invalidRegexes(t.pattern, inventory).map((message) => ({ ...(t.location ? { location: t.location } : {}), path: 'hosts', message: `host pattern ${message}` })),
  );
  if (o.limit !== undefined) issues.push(...invalidRegexes(o.limit, inventory).map((message) => ({ path: '--limit', message: `host pattern ${message}` })));
  if (issues.length > 0) throw new ValidationError(issues);
  const limited = o.limit !== undefined ? new Set(selectHosts(o.limit, inventory)) : undefined;
  const each = targets.map((t) => selectHosts(t.pattern, inventory).filter((h) => !limited || limited.has(h)));
  if (!o.shard) return each;
  const inShard = new Set(shardHosts(each.flat(), o.shard));
  return each.map((hosts) => hosts.filter((h) => inShard.has(h)));
}

/** A warning for every part of a target's pattern (or of --limit) that matches no host. */
export function targetWarnings(targets: readonly Target[], inventory: Inventory, o: SelectOptions = {}): string[] {
  const out = targets.flatMap((t) => unmatchedPatterns(t.pattern, inventory).map((p) => `${t.label ? `${t.label}: ` : ''}host pattern "${p}" matches no host`));
  if (o.limit !== undefined) out.push(...unmatchedPatterns(o.limit, inventory).map((p) => `--limit: pattern "${p}" matches no host`));
  return out;
}

const playTargets = (playbook: Playbook): Target[] => playbook.plays.map((play) => ({ pattern: play.hosts, label: `play "${play.name}"`, location: play.location }));

export function selectPlays(playbook: Playbook, inventory: Inventory, o: SelectOptions = {}): PlaySelection[] {
  const hosts = selectTargets(playTargets(playbook), inventory, o);
  return playbook.plays.map((play, i) => ({ play, hosts: hosts[i] ?? [] }));
}

export function patternWarnings(playbook: Playbook, inventory: Inventory, o: SelectOptions = {}): string[] {
  return targetWarnings(playTargets(playbook), inventory, o);
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
