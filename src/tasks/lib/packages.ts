/**
 * Package manager steps shared by tasks (package, fail2ban, unattended-upgrades,
 * firewall...): install, remove, upgrade, for apt, dnf and yum. Non-interactive,
 * keep existing config files, long timeouts. Never `sudo`: the runner wraps.
 */
import type { Step } from '../../contract/task.js';
import { TaskError } from '../../contract/errors.js';
import { quote } from '../../contract/quote.js';
import type { HostFacts, PackageManager } from '../../contract/host-facts.js';
import { APT_SECURITY_FILTER, type UpgradeKind } from '../../facts/packages.js';

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
 * Install `names` in ONE command. `update`: refresh the package lists first
 * (apt: always when the lists are empty). `latest`: also upgrade the ones
 * already installed (apt-get install does both; dnf/yum need an upgrade too).
 */
export function installSteps(host: HostFacts, names: readonly string[], opts: { update?: boolean; latest?: boolean } = {}): Step[] {
  const what = `install ${names.join(', ')}`;
  const pm = manager(host, what);
  const pkgs = words(names, what);
  switch (pm) {
    case 'apt':
      return [step(`${opts.update ? APT_UPDATE : APT_UPDATE_IF_EMPTY} && ${APT_GET} install --no-install-recommends ${pkgs}`)];
    case 'dnf':
    case 'yum': {
      const refresh = opts.update ? `${pm} -q makecache && ` : '';
      const upgrade = opts.latest ? ` && ${pm} -y -q ${pm === 'dnf' ? 'upgrade' : 'update'} ${pkgs}` : '';
      return [step(`${refresh}${pm} -y -q install ${pkgs}${upgrade}`)];
    }
  }
}

/** Remove `names` in one command; `purge` also deletes their config files (apt; rpm keeps modified configs as .rpmsave). */
export function removeSteps(host: HostFacts, names: readonly string[], opts: { purge?: boolean } = {}): Step[] {
  const what = `remove ${names.join(', ')}`;
  const pm = manager(host, what);
  const pkgs = words(names, what);
  switch (pm) {
    case 'apt':
      return [step(`${APT_GET} ${opts.purge ? 'purge' : 'remove'} ${pkgs}`)];
    case 'dnf':
    case 'yum':
      return [step(`${pm} -y -q remove ${pkgs}`)];
  }
}

/**
 * Upgrade installed packages: `all`, or `security` fixes only. Refreshes the
 * package lists first. apt has no security-only switch: the step installs the
 * upgrades whose origin is a `-security` archive (the same selection as the
 * `upgradable_packages` fact).
 */
export function upgradeSteps(host: HostFacts, kind: UpgradeKind): Step[] {
  const pm = manager(host, `upgrade ${kind === 'security' ? 'security fixes' : 'packages'}`);
  switch (pm) {
    case 'apt':
      if (kind === 'all') return [step(`${APT_UPDATE} && ${APT_GET} upgrade`)];
      return [
        step(
          `${APT_UPDATE} && p=$(LC_ALL=C apt-get -s -q upgrade | ${APT_SECURITY_FILTER}) && ` +
            `{ [ -z "$p" ] || ${APT_GET} install --only-upgrade $p; }`,
        ),
      ];
    case 'dnf':
      return [step(`dnf -y -q upgrade${kind === 'security' ? ' --security' : ''}`)];
    case 'yum':
      return [step(`yum -y -q update${kind === 'security' ? ' --security' : ''}`)];
  }
}

/** Refresh the package lists (apt-get update / dnf makecache). */
export function updateCacheSteps(host: HostFacts): Step[] {
  const pm = manager(host, 'update the package lists');
  return [step(pm === 'apt' ? APT_UPDATE : `${pm} -q makecache`)];
}
