/**
 * SELinux facts, read with plain commands (no Python bindings):
 *
 * - mode: `/sys/fs/selinux/enforce` (1 enforcing, 0 permissive), else
 *   `getenforce`; neither (no selinuxfs): disabled;
 * - `semanage` (package policycoreutils-python-utils, policycoreutils-python
 *   on EL7) present, and then the port labels of the policy store:
 *   `semanage port -l -n` (policy and local ones) and `semanage port -l -C -n`
 *   (the local customizations only: what `semanage port -d` can remove).
 *   The store is read whatever the mode (it exists, and `semanage` edits it,
 *   on a host booted without SELinux too); when it cannot be read, semanage's
 *   last lines are kept as `storeError`;
 * - one boolean (`seboolean`): its running value (`getsebool NAME`, SELinux
 *   enabled) and the value in the policy store (`semanage boolean -l -n`:
 *   `name (running, stored) description`).
 *
 * On an enforcing host (RHEL, Rocky, Alma, Fedora by default) sshd may bind
 * only ports labelled `ssh_port_t`, so a Port move needs `semanage port -a`
 * first, or sshd fails to start (tasks/lib/selinux.ts).
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';
import { quote } from '../contract/quote.js';
import { outputSections } from './sections.js';

export type SelinuxMode = 'enforcing' | 'permissive' | 'disabled';

/** One label line: `ssh_port_t tcp 8008, 8991, 22` -> type, protocol and entries (`22`, `1024-32767`). */
export interface PortLabel {
  readonly type: string;
  readonly proto: string;
  readonly ports: readonly string[];
}

export interface SelinuxFacts {
  readonly mode: SelinuxMode;
  /** The semanage command is installed. */
  readonly semanage: boolean;
  /** Port labels, policy and local, every protocol (empty when semanage is missing or the store unreadable). */
  readonly labels: readonly PortLabel[];
  /** Port labels that are local customizations. */
  readonly local: readonly PortLabel[];
  /** semanage is installed but could not read the policy store: what it said. */
  readonly storeError?: string;
}

const PATH = 'PATH="$PATH:/usr/sbin:/sbin"';

/** Shell lines printing the mode (`enforce=1`, `getenforce=Permissive` or nothing). */
const MODE_SCRIPT = [
  'if [ -r /sys/fs/selinux/enforce ]; then echo "enforce=$(cat /sys/fs/selinux/enforce)";',
  'elif command -v getenforce >/dev/null 2>&1; then echo "getenforce=$(getenforce 2>/dev/null)"; fi',
];

/** Run a semanage listing; its output under `__name`, or its last lines under `__error`. */
const listing = (name: string, command: string): string =>
  `  if out=$(${command} 2>&1); then echo __${name}; printf '%s\\n' "$out"; else echo __error; printf '%s\\n' "$out" | tail -n 3; fi`;

const SCRIPT = [
  PATH,
  ...MODE_SCRIPT,
  'if command -v semanage >/dev/null 2>&1; then',
  '  echo semanage=1',
  listing('all', 'semanage port -l -n'),
  listing('local', 'semanage port -l -C -n'),
  'fi',
  'echo __end',
].join('\n');

const checked = (stdout: string, name: string, exitCode: number): Map<string, string[]> => {
  const sections = outputSections(stdout);
  if (!sections.has('end')) throw new FactError(name, `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  return sections;
};

/** The mode from the `enforce=` / `getenforce=` lines. */
export function parseMode(stdout: string): SelinuxMode {
  const enforce = /^enforce=(\d)/m.exec(stdout)?.[1];
  const getenforce = /^getenforce=(\w+)/m.exec(stdout)?.[1]?.toLowerCase();
  if (enforce !== undefined) return enforce === '1' ? 'enforcing' : 'permissive';
  return getenforce === 'enforcing' || getenforce === 'permissive' ? getenforce : 'disabled';
}

/** Label lines of `semanage port -l -n` output (every protocol). */
export function parsePortLabels(lines: readonly string[]): PortLabel[] {
  const out: PortLabel[] = [];
  for (const line of lines) {
    const m = /^(\S+)\s+(tcp|udp|dccp|sctp)\s+(.+)$/.exec(line.trim());
    if (!m) continue;
    out.push({ type: m[1] as string, proto: m[2] as string, ports: (m[3] as string).split(',').map((p) => p.trim()).filter(Boolean) });
  }
  return out;
}

/** semanage's complaint, when the store could not be read. */
const storeError = (sections: Map<string, string[]>): { storeError?: string } => {
  const lines = sections.get('error');
  return lines === undefined ? {} : { storeError: lines.filter(Boolean).join(' ').trim() || 'semanage failed without a message' };
};

/** Pure parser of the fact command's output. */
export function parseSelinuxFact(stdout: string, exitCode = 0): SelinuxFacts {
  const sections = checked(stdout, 'selinux', exitCode);
  return {
    mode: parseMode(stdout),
    semanage: /^semanage=1$/m.test(stdout),
    labels: parsePortLabels(sections.get('all') ?? []),
    local: parsePortLabels(sections.get('local') ?? []),
    ...storeError(sections),
  };
}

const inEntry = (entry: string, port: number): boolean => {
  const [lo, hi] = entry.split('-').map(Number);
  return hi === undefined ? lo === port : (lo as number) <= port && port <= hi;
};

/** The labels of one protocol. */
export const labelsOf = (labels: readonly PortLabel[], proto: string): PortLabel[] => labels.filter((l) => l.proto === proto);

/** The type of the label entry that is exactly `entry` (`8080`, `8000-8010`), if any. */
export const exactType = (labels: readonly PortLabel[], proto: string, entry: string): string | undefined =>
  labelsOf(labels, proto).find((l) => l.ports.includes(entry))?.type;

/**
 * How TCP `port` is labelled: `type` of an exact entry other than ssh_port_t
 * (`semanage port -a` would fail on it: it needs `-m`), and whether
 * `ssh_port_t` covers it already.
 */
export function portLabel(f: SelinuxFacts, port: number): { ssh: boolean; exact?: string; local: boolean } {
  const tcp = labelsOf(f.labels, 'tcp');
  const exact = tcp.find((l) => l.ports.includes(String(port)) && l.type !== 'ssh_port_t');
  return {
    ssh: tcp.some((l) => l.type === 'ssh_port_t' && l.ports.some((e) => inEntry(e, port))),
    ...(exact ? { exact: exact.type } : {}),
    local: labelsOf(f.local, 'tcp').some((l) => l.ports.includes(String(port))),
  };
}

export const selinuxFact: Fact<null, SelinuxFacts> = {
  name: 'selinux',
  command: () => SCRIPT,
  parse: (stdout, _args, exitCode) => parseSelinuxFact(stdout, exitCode),
  key: () => '',
};

export const selinux = (): FactRequest<SelinuxFacts> => req(selinuxFact, null);

/** The mode alone (the `selinux` task): no semanage listing. */
export const selinuxModeFact: Fact<null, SelinuxMode> = {
  name: 'selinux_mode',
  command: () => [PATH, ...MODE_SCRIPT, 'echo __end'].join('\n'),
  parse: (stdout, _args, exitCode) => {
    checked(stdout, 'selinux_mode', exitCode);
    return parseMode(stdout);
  },
  key: () => '',
};

export const selinuxMode = (): FactRequest<SelinuxMode> => req(selinuxModeFact, null);

export interface SebooleanFacts {
  readonly mode: SelinuxMode;
  /** The running value (`getsebool`; undefined when SELinux is disabled or the boolean unknown). */
  readonly running?: boolean;
  readonly semanage: boolean;
  /** The value in the policy store (undefined when semanage is missing, the store unreadable or the boolean unknown). */
  readonly stored?: boolean;
  readonly storeError?: string;
}

/** Boolean names as the policy spells them; the schema holds every name to this. */
export const BOOLEAN_NAME = /^[A-Za-z0-9_]+$/;

const sebooleanScript = (name: string): string =>
  [
    PATH,
    ...MODE_SCRIPT,
    `if command -v getsebool >/dev/null 2>&1; then echo __getsebool; getsebool ${quote(name)} 2>&1; fi`,
    'if command -v semanage >/dev/null 2>&1; then',
    '  echo semanage=1',
    listing('booleans', 'semanage boolean -l -n'),
    'fi',
    'echo __end',
  ].join('\n');

/** Pure parser of the seboolean fact's output: only the lines of `name` count. */
export function parseSebooleanFact(stdout: string, name: string, exitCode = 0): SebooleanFacts {
  const sections = checked(stdout, 'seboolean', exitCode);
  const running = (sections.get('getsebool') ?? []).map((l) => /^(\S+) --> (on|off)$/.exec(l.trim())).find((m) => m?.[1] === name)?.[2];
  const stored = (sections.get('booleans') ?? []).map((l) => /^(\S+)\s+\(\s*(on|off)\s*,\s*(on|off)\s*\)/.exec(l)).find((m) => m?.[1] === name)?.[3];
  return {
    mode: parseMode(stdout),
    ...(running !== undefined ? { running: running === 'on' } : {}),
    semanage: /^semanage=1$/m.test(stdout),
    ...(stored !== undefined ? { stored: stored === 'on' } : {}),
    ...storeError(sections),
  };
}

export const sebooleanFact: Fact<{ name: string }, SebooleanFacts> = {
  name: 'seboolean',
  command: (a) => sebooleanScript(a.name),
  parse: (stdout, a, exitCode) => parseSebooleanFact(stdout, a.name, exitCode),
  key: (a) => a.name,
};

export const seboolean = (name: string): FactRequest<SebooleanFacts> => req(sebooleanFact, { name });
