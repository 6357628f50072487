/**
 * SELinux and the TCP port labels: on an enforcing host (RHEL, Rocky, Alma,
 * Fedora by default) sshd may bind only ports labelled `ssh_port_t`, so a
 * Port move needs `semanage port -a` first, or sshd fails to start.
 *
 * - mode: `/sys/fs/selinux/enforce` (1 enforcing, 0 permissive), else
 *   `getenforce`; neither (no selinuxfs): disabled;
 * - `semanage` (package policycoreutils-python-utils, policycoreutils-python
 *   on EL7) present, and when SELinux is not disabled its TCP port labels:
 *   `semanage port -l -n` (policy and local ones) and `semanage port -l -C -n`
 *   (the local customizations only: what `semanage port -d` can remove).
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export type SelinuxMode = 'enforcing' | 'permissive' | 'disabled';

/** One label line: `ssh_port_t tcp 8008, 8991, 22` -> type and entries (`22`, `1024-32767`). */
export interface PortLabel {
  readonly type: string;
  readonly ports: readonly string[];
}

export interface SelinuxFacts {
  readonly mode: SelinuxMode;
  /** The semanage command is installed. */
  readonly semanage: boolean;
  /** TCP labels, policy and local (empty when SELinux is disabled or semanage missing). */
  readonly tcp: readonly PortLabel[];
  /** TCP labels that are local customizations. */
  readonly localTcp: readonly PortLabel[];
}

const SCRIPT = [
  'PATH="$PATH:/usr/sbin:/sbin"',
  'if [ -r /sys/fs/selinux/enforce ]; then echo "enforce=$(cat /sys/fs/selinux/enforce)";',
  'elif command -v getenforce >/dev/null 2>&1; then echo "getenforce=$(getenforce 2>/dev/null)"; fi',
  'if command -v semanage >/dev/null 2>&1; then',
  '  echo semanage=1',
  '  if [ -d /sys/fs/selinux ]; then',
  '    echo __all; semanage port -l -n 2>/dev/null',
  '    echo __local; semanage port -l -C -n 2>/dev/null',
  '  fi',
  'fi',
  'echo __end',
].join('\n');

/** TCP lines of `semanage port -l -n` output. */
export function parsePortLabels(text: string): PortLabel[] {
  const out: PortLabel[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\S+)\s+(.+)$/.exec(line.trim());
    if (!m || m[2] !== 'tcp') continue;
    out.push({ type: m[1] as string, ports: (m[3] as string).split(',').map((p) => p.trim()).filter(Boolean) });
  }
  return out;
}

const section = (stdout: string, from: string, to: string): string => {
  const a = stdout.indexOf(`${from}\n`);
  const b = stdout.indexOf(`${to}\n`, a + 1);
  return a < 0 || b < 0 ? '' : stdout.slice(a + from.length + 1, b);
};

/** Pure parser of the fact command's output. */
export function parseSelinuxFact(stdout: string, exitCode = 0): SelinuxFacts {
  if (!stdout.includes('__end\n')) throw new FactError('selinux', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const enforce = /^enforce=(\d)/m.exec(stdout)?.[1];
  const getenforce = /^getenforce=(\w+)/m.exec(stdout)?.[1]?.toLowerCase();
  const mode: SelinuxMode =
    enforce !== undefined ? (enforce === '1' ? 'enforcing' : 'permissive') : getenforce === 'enforcing' || getenforce === 'permissive' ? getenforce : 'disabled';
  return {
    mode,
    semanage: /^semanage=1$/m.test(stdout),
    tcp: parsePortLabels(section(stdout, '__all', '__local')),
    localTcp: parsePortLabels(section(stdout, '__local', '__end')),
  };
}

const inEntry = (entry: string, port: number): boolean => {
  const [lo, hi] = entry.split('-').map(Number);
  return hi === undefined ? lo === port : (lo as number) <= port && port <= hi;
};

/**
 * How `port` is labelled: `type` of an exact entry (`semanage port -a` would
 * fail on it: it needs `-m`), and whether `ssh_port_t` covers it already.
 */
export function portLabel(f: SelinuxFacts, port: number): { ssh: boolean; exact?: string; local: boolean } {
  const exact = f.tcp.find((l) => l.ports.includes(String(port)) && l.type !== 'ssh_port_t');
  return {
    ssh: f.tcp.some((l) => l.type === 'ssh_port_t' && l.ports.some((e) => inEntry(e, port))),
    ...(exact ? { exact: exact.type } : {}),
    local: f.localTcp.some((l) => l.ports.includes(String(port))),
  };
}

export const selinuxFact: Fact<null, SelinuxFacts> = {
  name: 'selinux',
  command: () => SCRIPT,
  parse: (stdout, _args, exitCode) => parseSelinuxFact(stdout, exitCode),
  key: () => '',
};

export const selinux = (): FactRequest<SelinuxFacts> => req(selinuxFact, null);
