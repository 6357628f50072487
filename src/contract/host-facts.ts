/**
 * What a host is, as gathered at connect time (see facts/host.ts for the
 * command and parser): the contract task planners read from `ctx.host`.
 */

export type OsFamily = 'debian' | 'rhel' | 'unknown';
export type InitSystem = 'systemd' | 'sysv' | 'none';
export type PackageManager = 'apt' | 'dnf' | 'yum' | 'none';

export interface HostFacts {
  readonly os: {
    /** `ID` of /etc/os-release, e.g. `debian`, `ubuntu`, `rocky`, `centos`. */
    readonly id: string;
    readonly idLike: readonly string[];
    readonly family: OsFamily;
    /** `VERSION_ID`, e.g. `12`, `22.04`, `9.4`. */
    readonly versionId: string;
    /** Major version as a number (NaN when unknown). */
    readonly major: number;
    readonly prettyName: string;
  };
  readonly init: InitSystem;
  readonly packageManager: PackageManager;
  readonly uid: number;
  readonly user: string;
  /** `sudo` is installed. */
  readonly sudo: boolean;
  /** `sudo -n true` succeeds (no password needed, or already cached). */
  readonly sudoNoPassword: boolean;
  /** Running in a container (docker, podman, lxc): kernel settings belong to the container host. */
  readonly container: boolean;
  readonly hostname: string;
  readonly arch: string;
  readonly kernel: string;
  /** From $SSH_CONNECTION: how this session reached the host (null on a local connection). */
  readonly ssh: { readonly clientIp: string; readonly clientPort: number; readonly serverIp: string; readonly serverPort: number } | null;
}
