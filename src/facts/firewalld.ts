/**
 * firewalld's zones, for the `firewalld` task: one round trip reading
 *
 * - `firewall-cmd --state`: running or not;
 * - the default zone and every zone, runtime (`firewall-cmd --list-all-zones`)
 *   and permanent (`--permanent --list-all-zones`; `firewall-offline-cmd`
 *   while firewalld is not running), in the `--list-all` format: a zone name
 *   line (`public (active)`), then `  key: values` lines, rich rules one per
 *   line, indented by a tab;
 * - `ip -o addr`: which interface holds the address our SSH connection
 *   arrived at, so the lockout pre-flight knows the zone it lands in.
 * Every zone is read, not only the task's: a source or interface moved to
 * another zone changes which zone our own connection lands in.
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { outputSections } from './sections.js';

export interface FirewalldZone {
  readonly name: string;
  /** `default`, `ACCEPT`, `DROP`, `%%REJECT%%`. */
  readonly target: string;
  readonly interfaces: readonly string[];
  readonly sources: readonly string[];
  readonly services: readonly string[];
  /** `8080/tcp`, `1000-2000/udp`. */
  readonly ports: readonly string[];
  readonly richRules: readonly string[];
}

export interface FirewalldConfig {
  readonly defaultZone: string;
  readonly zones: Readonly<Record<string, FirewalldZone>>;
}

export interface FirewalldState {
  readonly installed: boolean;
  readonly running: boolean;
  /** The running firewall; undefined while firewalld is not running. */
  readonly runtime?: FirewalldConfig;
  /** What firewalld loads at start and on --reload. */
  readonly permanent?: FirewalldConfig;
  /** Interface name → its addresses (without prefix length). */
  readonly addresses: Readonly<Record<string, readonly string[]>>;
}

const COMMAND = [
  'PATH="$PATH:/usr/sbin:/sbin"',
  'echo __addr; ip -o addr show 2>/dev/null',
  'command -v firewall-cmd >/dev/null 2>&1 || { echo __absent; exit 0; }',
  'if firewall-cmd --state >/dev/null 2>&1; then',
  '  echo __running',
  '  echo __runtime; firewall-cmd --get-default-zone && firewall-cmd --list-all-zones',
  '  echo __permanent; firewall-cmd --get-default-zone && firewall-cmd --permanent --list-all-zones',
  'else',
  '  echo __permanent; firewall-offline-cmd --get-default-zone 2>/dev/null && firewall-offline-cmd --list-all-zones 2>/dev/null',
  'fi',
  'true',
].join('\n');

const words = (v: string | undefined): string[] => (v ?? '').trim().split(/\s+/).filter(Boolean);

/** `--list-all-zones` output after the default zone's name line. */
export function parseZones(lines: readonly string[]): Record<string, FirewalldZone> {
  const zones: Record<string, FirewalldZone> = {};
  let cur: { name: string; kv: Record<string, string>; rich: string[] } | undefined;
  const flush = () => {
    if (!cur) return;
    const kv = cur.kv;
    zones[cur.name] = {
      name: cur.name,
      target: kv.target?.trim() || 'default',
      interfaces: words(kv.interfaces),
      sources: words(kv.sources),
      services: words(kv.services),
      ports: words(kv.ports),
      richRules: cur.rich,
    };
  };
  let inRich = false;
  for (const line of lines) {
    const zone = /^(\S+)(?: \(([^)]*)\))?\s*$/.exec(line);
    if (zone) {
      flush();
      cur = { name: zone[1] as string, kv: {}, rich: [] };
      inRich = false;
      continue;
    }
    if (!cur) continue;
    if (inRich && /^\t\S/.test(line)) {
      cur.rich.push(line.trim());
      continue;
    }
    const kv = /^ {2}([a-z -]+): ?(.*)$/.exec(line);
    if (kv) {
      cur.kv[kv[1] as string] = kv[2] as string;
      inRich = kv[1] === 'rich rules';
    } else inRich = false;
  }
  flush();
  return zones;
}

function config(lines: readonly string[] | undefined): FirewalldConfig | undefined {
  if (!lines) return undefined;
  const i = lines.findIndex((l) => l.trim() !== '');
  if (i < 0) return undefined;
  return { defaultZone: (lines[i] as string).trim(), zones: parseZones(lines.slice(i + 1)) };
}

/** `ip -o addr show`: `2: eth0    inet 172.17.0.2/16 brd ...`. */
export function parseAddresses(lines: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const l of lines) {
    const m = /^\d+:\s+(\S+?)(?:@\S+)?\s+inet6? ([0-9a-fA-F.:]+)\//.exec(l);
    if (m) (out[m[1] as string] ??= []).push(m[2] as string);
  }
  return out;
}

/** Pure parser of the fact command's output. */
export function parseFirewalld(stdout: string, exitCode = 0): FirewalldState {
  const s = outputSections(stdout);
  if (!s.has('addr')) throw new FactError('firewalld', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const addresses = parseAddresses(s.get('addr') ?? []);
  if (s.has('absent')) return { installed: false, running: false, addresses };
  const runtime = config(s.get('runtime'));
  const permanent = config(s.get('permanent'));
  const running = s.has('running');
  if (running && !runtime) throw new FactError('firewalld', 'firewalld runs but `firewall-cmd --list-all-zones` said nothing (run with become: true)');
  return { installed: true, running, ...(runtime ? { runtime } : {}), ...(permanent ? { permanent } : {}), addresses };
}

export const firewalldFact: Fact<null, FirewalldState> = {
  name: 'firewalld',
  command: () => COMMAND,
  parse: (stdout, _args, exitCode) => parseFirewalld(stdout, exitCode),
  key: () => 'state',
};

export const firewalldState = (): FactRequest<FirewalldState> => req(firewalldFact, null);
