/**
 * Which hosts each play runs on: the play's pattern, intersected with
 * `--limit`, then `--shard K/N` of what is left over the whole run (so shards
 * are balanced over the hosts that really run). Used by the runner and by
 * `--list-hosts`, so both agree.
 */
import type { Inventory } from './inventory.js';
import { ValidationError, type ValidationIssue } from '../contract/errors.js';
import { invalidRegexes, selectHosts, unmatchedPatterns } from './patterns.js';
import type { PlayDef, Playbook } from './playbook.js';
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
