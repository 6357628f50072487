/**
 * Owned chains: the table model the planner diffs and renders the
 * iptables-restore script from.
 */

export interface ChainState {
  readonly name: string;
  readonly policy: string | null;
}

/** A table as the planner sees it: chains in order and the rule specs of each. */
export interface TableModel {
  readonly name: string;
  readonly chains: readonly ChainState[];
  readonly rules: ReadonlyMap<string, readonly string[]>;
}
