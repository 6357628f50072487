/**
 * Package facts: which of some packages are installed (and at which version),
 * and which packages have upgrades pending. One command works on either family:
 * it tests for `dpkg-query` first, then `rpm`, and says which it used on the
 * first line (`mgr=dpkg|rpm|none`), so the pure parsers know the format.
 */
import { FactError } from '../contract/errors.js';
import { quote } from '../contract/quote.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface PackagesArgs {
  readonly names: readonly string[];
}

export interface InstalledPackage {
  /** dpkg `Version` (with epoch, e.g. `1:9.2p1-2+deb12u10`) or rpm `[EPOCH:]VERSION-RELEASE`. */
  readonly version: string;
}

/** Requested name → installed version, or null when not installed (also: removed with config files left). */
export type PackagesInfo = Record<string, InstalledPackage | null>;

const DPKG_FORMAT = '${Package}\\t${Status}\\t${Version}\\n';
const RPM_FORMAT = 'pkg\\t%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{VERSION}\\t%{RELEASE}\\n';

function packagesScript(names: readonly string[]): string {
  const words = names.map((n) => quote(n)).join(' ');
  return [
    'if command -v dpkg-query >/dev/null 2>&1; then',
    '  echo mgr=dpkg',
    `  dpkg-query -W -f=${quote(DPKG_FORMAT)} -- ${words} 2>/dev/null`,
    'elif command -v rpm >/dev/null 2>&1; then',
    '  echo mgr=rpm',
    `  rpm -q --qf ${quote(RPM_FORMAT)} -- ${words} 2>/dev/null`,
    'else',
    '  echo mgr=none',
    'fi',
    // dpkg-query and rpm exit 1 when some package is unknown: that is an answer, not a failure
    'exit 0',
  ].join('\n');
}

/** `libc6:amd64` is reported by dpkg as `libc6`. */
const baseName = (name: string): string => name.replace(/:[a-z0-9_-]+$/, '');

/** Pure parser of the fact command's output. */
export function parsePackagesFact(stdout: string, names: readonly string[]): PackagesInfo {
  const lines = stdout.split('\n');
  const mgr = lines.find((l) => l.startsWith('mgr='))?.slice(4);
  if (mgr !== 'dpkg' && mgr !== 'rpm' && mgr !== 'none') {
    throw new FactError('packages', `unexpected output: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const found = new Map<string, string>();
  for (const line of lines) {
    const f = line.split('\t');
    if (mgr === 'dpkg' && f.length === 3) {
      const [pkg, status, version] = f as [string, string, string];
      // `install ok installed` only: `deinstall ok config-files`, `unknown ok not-installed`, half-installed... are absent
      if (/^(install|hold) ok installed$/.test(status.trim())) found.set(pkg, version);
    } else if (mgr === 'rpm' && f.length >= 3 && f[0] === 'pkg') {
      // several versions of one name (kernel): the last one rpm prints
      const [, name, full, version, release] = f as [string, string, string, string?, string?];
      found.set(name, full);
      // yum/dnf pins `name-1.2` and `name-1.2-3.el9`, as `rpm -q` takes them
      if (version !== undefined) found.set(`${name}-${version}`, full);
      if (version !== undefined && release !== undefined) found.set(`${name}-${version}-${release}`, full);
    }
  }
  const out: PackagesInfo = {};
  for (const name of names) {
    const version = found.get(name) ?? found.get(baseName(name));
    out[name] = version !== undefined ? { version } : null;
  }
  return out;
}

export const packagesFact: Fact<PackagesArgs, PackagesInfo> = {
  name: 'packages',
  command: (args) => packagesScript(args.names),
  parse: (stdout, args) => parsePackagesFact(stdout, args.names),
  key: (args) => [...args.names].sort().join(','),
  // one dpkg-query or rpm for every name: the parser picks the lines of its own names
  merge: (all) => ({ names: [...new Set(all.flatMap((a) => a.names))] }),
};

/** The fact request for some package names. */
export const packagesInstalled = (names: readonly string[]): FactRequest<PackagesInfo> => req(packagesFact, { names: [...names] });

// ---------------------------------------------------------------------------

/**
 * `all`: `apt-get upgrade` / `dnf upgrade`; `security`: security fixes only;
 * apt only: `safe` is `apt-get upgrade --with-new-pkgs` and `dist` is
 * `apt-get dist-upgrade` (Ansible's apt `upgrade: yes|safe` and `full|dist`
 * with apt-get).
 */
export type UpgradeKind = 'security' | 'all' | 'safe' | 'dist';

export interface UpgradableArgs {
  readonly kind: UpgradeKind;
  /** dnf/yum options, already shell words (`--exclude=kernel*`, `--enablerepo=epel`). */
  readonly options?: string;
}

export interface UpgradablePackage {
  readonly name: string;
  /** Version the upgrade would install. */
  readonly version: string;
  /** apt `dist`: the upgrade removes this package (a `Remv` line). */
  readonly remove?: boolean;
}

export interface UpgradableInfo {
  readonly manager: 'apt' | 'dnf' | 'yum' | 'none';
  /**
   * apt only: the package lists under /var/lib/apt/lists are empty (never
   * `apt-get update`d), so nothing is known to be upgradable yet.
   */
  readonly listsEmpty: boolean;
  readonly packages: readonly UpgradablePackage[];
}

/**
 * Shell that prints the names of security upgrades from `apt-get -s upgrade`
 * output on stdin: origin in parentheses ends in `-security`
 * (`Debian-Security:12/stable-security`, `Ubuntu:22.04/jammy-security`).
 * Shared with the upgrade step so plan and apply agree.
 */
export const APT_SECURITY_FILTER = `grep -E '^Inst [^ ]+ .*\\([^)]*-security[ ,)]' | cut -d ' ' -f 2`;

/** The apt-get operation whose simulation (`-s`) lists what an upgrade of this kind does. */
export const aptUpgradeOperation = (kind: UpgradeKind): string =>
  kind === 'dist' ? 'dist-upgrade' : kind === 'safe' ? 'upgrade --with-new-pkgs' : 'upgrade';

function upgradableScript(args: UpgradableArgs): string {
  const sec = args.kind === 'security' ? ' --security' : '';
  const opts = args.options ? ` ${args.options}` : '';
  return [
    'if command -v apt-get >/dev/null 2>&1; then',
    '  echo mgr=apt',
    '  if [ -z "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ]; then echo lists=empty; fi',
    `  LC_ALL=C apt-get -s -q ${aptUpgradeOperation(args.kind)} 2>/dev/null | grep -E "^(Inst|Remv) "`,
    '  exit 0',
    'fi',
    'for m in dnf yum; do',
    '  if command -v $m >/dev/null 2>&1; then',
    '    echo mgr=$m',
    // exit 100: updates available, 0: none, 1: error
    `    LC_ALL=C $m -q check-update${sec}${opts} 2>/dev/null; rc=$?`,
    '    echo "rc=$rc"',
    '    exit 0',
    '  fi',
    'done',
    'echo mgr=none',
  ].join('\n');
}

/** Pure parser of the upgradable fact's output. */
export function parseUpgradableFact(stdout: string, kind: UpgradeKind): UpgradableInfo {
  const lines = stdout.split('\n');
  const mgr = lines.find((l) => l.startsWith('mgr='))?.slice(4);
  if (mgr === 'apt') {
    const packages: UpgradablePackage[] = [];
    for (const line of lines) {
      // Remv linux-image-6.1.0-17-amd64 [6.1.69-1]
      const rm = /^Remv (\S+)(?: \[([^\]]*)\])?/.exec(line);
      if (rm) {
        if (kind !== 'security') packages.push({ name: rm[1] as string, version: rm[2] ?? '', remove: true });
        continue;
      }
      // Inst openssl [3.0.11-1~deb12u2] (3.0.15-1~deb12u1 Debian-Security:12/stable-security [amd64])
      const m = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) ([^)]*)\)/.exec(line);
      if (!m) continue;
      // same test as APT_SECURITY_FILTER: an origin archive ending in -security
      if (kind === 'security' && !/-security[ ,)]/.test(`${m[3] as string})`)) continue;
      packages.push({ name: m[1] as string, version: m[2] as string });
    }
    return { manager: 'apt', listsEmpty: lines.includes('lists=empty'), packages };
  }
  if (mgr === 'dnf' || mgr === 'yum') {
    const rcLine = lines.find((l) => l.startsWith('rc='));
    const rc = Number(rcLine?.slice(3));
    if (rc !== 0 && rc !== 100) throw new FactError('upgradable_packages', `${mgr} check-update failed (exit ${rcLine ? rc : 'unknown'})`);
    const packages: UpgradablePackage[] = [];
    for (const line of lines) {
      if (/^(Obsoleting|Security:|Last metadata)/.test(line)) {
        if (line.startsWith('Obsoleting')) break; // the obsoletes section repeats names
        continue;
      }
      // openssl-libs.x86_64   1:3.0.7-27.el9   baseos
      const m = /^(\S+)\.(\S+)\s+(\S+)\s+(\S+)\s*$/.exec(line);
      if (m) packages.push({ name: m[1] as string, version: m[3] as string });
    }
    return { manager: mgr, listsEmpty: false, packages };
  }
  if (mgr === 'none') return { manager: 'none', listsEmpty: false, packages: [] };
  throw new FactError('upgradable_packages', `unexpected output: ${JSON.stringify(stdout.slice(0, 200))}`);
}

export const upgradablePackagesFact: Fact<UpgradableArgs, UpgradableInfo> = {
  name: 'upgradable_packages',
  command: (args) => upgradableScript(args),
  parse: (stdout, args) => parseUpgradableFact(stdout, args.kind),
  key: (args) => (args.options ? `${args.kind} ${args.options}` : args.kind),
};

export const upgradablePackages = (kind: UpgradeKind, options?: string): FactRequest<UpgradableInfo> =>
  req(upgradablePackagesFact, options ? { kind, options } : { kind });

// ---------------------------------------------------------------------------

/**
 * apt's housekeeping, as `apt-get -s` shows it: the packages `autoremove`
 * would remove (`Remv` lines) and the archives `autoclean` would delete from
 * /var/cache/apt/archives (`Del` lines), the output Ansible's apt module
 * decides `changed` on.
 */
export type AptCleanOp = 'autoremove' | 'autoclean';

export interface AptCleanArgs {
  readonly op: AptCleanOp;
}

/** Package names (autoremove) or archive names (autoclean) the operation would remove. */
export type AptCleanInfo = readonly string[];

/** Pure parser of `apt-get -s autoremove|autoclean` output. */
export function parseAptCleanFact(stdout: string, op: AptCleanOp): AptCleanInfo {
  const prefix = op === 'autoremove' ? 'Remv ' : 'Del ';
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => l.slice(prefix.length).split(' ')[0] as string);
}

export const aptCleanFact: Fact<AptCleanArgs, AptCleanInfo> = {
  name: 'apt_clean',
  command: (args) => `LC_ALL=C apt-get -s -q ${args.op} 2>/dev/null | grep -E '^(Remv|Del) '; exit 0`,
  parse: (stdout, args) => parseAptCleanFact(stdout, args.op),
  key: (args) => args.op,
};

export const aptClean = (op: AptCleanOp): FactRequest<AptCleanInfo> => req(aptCleanFact, { op });

// ---------------------------------------------------------------------------

/**
 * When the apt package lists were last refreshed, as Ansible's apt module
 * tells for `cache_valid_time`: the mtime of
 * /var/lib/apt/periodic/update-success-stamp, else of /var/lib/apt/lists,
 * else never; and the host's clock now (seconds since the epoch).
 */
export interface AptCacheTime {
  /** Seconds since the epoch; 0 when neither path exists. */
  readonly updated: number;
  readonly now: number;
}

export function parseAptCacheTime(stdout: string): AptCacheTime {
  const v = (k: string): number | undefined => {
    const line = stdout.split('\n').find((l) => l.startsWith(`${k}=`));
    const n = line === undefined ? NaN : Number(line.slice(k.length + 1));
    return Number.isFinite(n) && line !== `${k}=` ? n : undefined;
  };
  const now = v('now');
  if (now === undefined) throw new FactError('apt_cache_time', `unexpected output: ${JSON.stringify(stdout.slice(0, 200))}`);
  return { updated: v('stamp') ?? v('lists') ?? 0, now };
}

export const aptCacheTimeFact: Fact<null, AptCacheTime> = {
  name: 'apt_cache_time',
  command: () =>
    [
      'echo "stamp=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null)"',
      'echo "lists=$(stat -c %Y /var/lib/apt/lists 2>/dev/null)"',
      'echo "now=$(date +%s)"',
    ].join('\n'),
  parse: (stdout) => parseAptCacheTime(stdout),
  key: () => 'apt',
};

export const aptCacheTime = (): FactRequest<AptCacheTime> => req(aptCacheTimeFact, null);
