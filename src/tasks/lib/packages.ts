/**
 * Package manager steps shared by tasks (package, fail2ban, unattended-upgrades,
 * firewall...): install, remove, upgrade, for apt, dnf and yum. Non-interactive,
 * keep existing config files, long timeouts. Never `sudo`: the runner wraps.
 */
import type { Step } from '../../contract/task.js';
import { TaskError } from '../../contract/errors.js';
import { quote } from '../../contract/quote.js';
import type { HostFacts, PackageManager } from '../../contract/host-facts.js';
import { APT_SECURITY_FILTER, aptUpgradeOperation, type AptCleanOp, type UpgradeKind } from '../../facts/packages.js';

/** Package operations download and unpack: 15 minutes per step. */
export const PACKAGE_TIMEOUT_MS = 15 * 60 * 1000;

/** apt-get without questions, keeping locally modified config files. */
export const APT_GET =
  'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

/** Refresh the apt lists only when they are empty (fresh images, containers). */
export const APT_UPDATE_IF_EMPTY = '{ [ -n "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ] || apt-get update -q; }';
export const APT_UPDATE = 'apt-get update -q';

function manager(host: HostFacts, what: string): Exclude<PackageManager, 'none'> {
  if (host.packageManager === 'none') {
    throw new TaskError(
      `cannot ${what}: no supported package manager on ${host.hostname || 'this host'} (${host.os.prettyName}); apt-get, dnf or yum is required`,
    );
  }
  return host.packageManager;
}

function words(names: readonly string[], what: string): string {
  if (names.length === 0) throw new TaskError(`cannot ${what}: no package names given`);
  return names.map((n) => quote(n)).join(' ');
}

const step = (command: string): Step => ({ command, timeoutMs: PACKAGE_TIMEOUT_MS });

/**
 * Options of Ansible's apt, dnf and yum modules, already shell words:
 * `apt` goes to apt-get (`--auto-remove`, `--allow-downgrades`...), `rpm` to
 * dnf/yum (`--exclude=kernel*`, `--enablerepo=epel`).
 */
export interface ManagerOptions {
  readonly apt?: string;
  readonly rpm?: string;
}

const opt = (words: string | undefined): string => (words ? ` ${words}` : '');

/**
 * Install `names` in ONE command. `update`: refresh the package lists first
 * (apt: always when the lists are empty). `latest`: also upgrade the ones
 * already installed (apt-get install does both; dnf/yum need an upgrade too).
 */
export function installSteps(
  host: HostFacts,
  names: readonly string[],
  opts: { update?: boolean; latest?: boolean; options?: ManagerOptions } = {},
): Step[] {
  const what = `install ${names.join(', ')}`;
  const pm = manager(host, what);
  const pkgs = words(names, what);
  switch (pm) {
    case 'apt':
      return [step(`${opts.update ? APT_UPDATE : APT_UPDATE_IF_EMPTY} && ${APT_GET}${opt(opts.options?.apt)} install --no-install-recommends ${pkgs}`)];
    case 'dnf':
    case 'yum': {
      const o = opt(opts.options?.rpm);
      const refresh = opts.update ? `${pm} -q${o} makecache && ` : '';
      const upgrade = opts.latest ? ` && ${pm} -y -q${o} ${pm === 'dnf' ? 'upgrade' : 'update'} ${pkgs}` : '';
      return [step(`${refresh}${pm} -y -q${o} install ${pkgs}${upgrade}`)];
    }
  }
}

/** Remove `names` in one command; `purge` also deletes their config files (apt; rpm keeps modified configs as .rpmsave). */
export function removeSteps(host: HostFacts, names: readonly string[], opts: { purge?: boolean; options?: ManagerOptions } = {}): Step[] {
  const what = `remove ${names.join(', ')}`;
  const pm = manager(host, what);
  const pkgs = words(names, what);
  switch (pm) {
    case 'apt':
      return [step(`${APT_GET}${opt(opts.options?.apt)} ${opts.purge ? 'purge' : 'remove'} ${pkgs}`)];
    case 'dnf':
    case 'yum':
      return [step(`${pm} -y -q${opt(opts.options?.rpm)} remove ${pkgs}`)];
  }
}

/**
 * Upgrade installed packages: `all`, or `security` fixes only (apt also
 * `safe`, `dist`: see UpgradeKind). Refreshes the package lists first unless
 * `update: false` (Ansible's apt `upgrade` without `update_cache`). apt has no
 * security-only switch: the step installs the upgrades whose origin is a
 * `-security` archive (the same selection as the `upgradable_packages` fact).
 */
export function upgradeSteps(host: HostFacts, kind: UpgradeKind, opts: { update?: boolean; options?: ManagerOptions } = {}): Step[] {
  const pm = manager(host, `upgrade ${kind === 'security' ? 'security fixes' : 'packages'}`);
  const refresh = opts.update === false ? '' : `${APT_UPDATE} && `;
  switch (pm) {
    case 'apt':
      if (kind !== 'security') return [step(`${refresh}${APT_GET}${opt(opts.options?.apt)} ${aptUpgradeOperation(kind)}`)];
      return [
        step(
          `${refresh}p=$(LC_ALL=C apt-get -s -q upgrade | ${APT_SECURITY_FILTER}) && ` +
            `{ [ -z "$p" ] || ${APT_GET}${opt(opts.options?.apt)} install --only-upgrade $p; }`,
        ),
      ];
    case 'dnf':
    case 'yum': {
      const o = opt(opts.options?.rpm);
      const makecache = opts.update === true ? `${pm} -q${o} makecache && ` : '';
      return [step(`${makecache}${pm} -y -q${o} ${pm === 'dnf' ? 'upgrade' : 'update'}${kind === 'security' ? ' --security' : ''}`)];
    }
  }
}

/** apt-get autoremove / autoclean (apt only: the apt task's own arguments). */
export function aptCleanSteps(op: AptCleanOp, options?: ManagerOptions): Step[] {
  return [step(`${APT_GET}${opt(options?.apt)} ${op}`)];
}

/** Refresh the package lists (apt-get update / dnf makecache). */
export function updateCacheSteps(host: HostFacts): Step[] {
  const pm = manager(host, 'update the package lists');
  return [step(pm === 'apt' ? APT_UPDATE : `${pm} -q makecache`)];
}
