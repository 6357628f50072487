/**
 * Pure iptables rule handling, one module per concern under iptables/:
 * - tokens: split a rule written in iptables-save syntax (without `-A CHAIN`),
 *   quote values as iptables-save does;
 * - addresses: IPv4/IPv6 addresses and networks as iptables prints them;
 * - names: protocols, ports, ICMP types, states, flags, rates, log levels;
 * - rules: parse a rule into selectors, matches and target, canonicalised
 *   the way `iptables-save` prints it back (implicit `-m tcp`, `/32`
 *   suffixes, ...), and its comparison key;
 * - canon: the canonical form of matches and targets (conntrack state
 *   order, ICMP type numbers, LOG defaults dropped, ...) and the rendering;
 * - restore: the table model of owned chains, their diff and the
 *   `iptables-restore --noflush` script;
 * - simulate: a packet of our SSH connection through a chain, for the
 *   lockout pre-flight.
 * This index is what the tasks import.
 *
 * The canonical forms were checked against real round trips (restore, then
 * save) on Debian 11 (iptables 1.8.7), 12 (1.8.9) and 13 (1.8.11), nf_tables
 * and legacy backends: test/fixtures/facts/iptables/roundtrip-*.txt.
 *
 * Matches and targets this module does not know are passed through verbatim
 * (only their quoting is normalised): they compare exactly as written, so
 * write them the way iptables-save prints them.
 */
export { tokenize, saveString } from './iptables/tokens.js';
export { parseCidr, cidrToText, cidrContains, ipVersionOf, type Cidr, type IpVersion } from './iptables/addresses.js';
export { parseRule, canonical, ruleKey, type Opt, type Match, type Rule } from './iptables/rules.js';
export { chainLines, diffOwnedChains, sortChains, tableModel, type ChainState, type ChainsDiff, type OwnedChains, type TableModel } from './iptables/restore.js';
export { ruleMatches, simulate, sshBlocked, sshPaths, type Packet, type SshAccess, type Verdict } from './iptables/simulate.js';
