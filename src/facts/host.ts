/**
 * Host facts, gathered in ONE round trip at connect time: OS family and
 * version, init system, package manager, privileges, container or not.
 */
import type { Fact } from '../contract/fact.js';
import type { HostFacts, OsFamily } from '../contract/host-facts.js';

/** os-release IDs of each family (ID or any of ID_LIKE): the parser and the shell's dispatch key use this one table. */
const FAMILY_IDS: Record<Exclude<OsFamily, 'unknown'>, readonly string[]> = {
  debian: ['debian', 'ubuntu'],
  rhel: ['rhel', 'centos', 'fedora', 'rocky', 'almalinux', 'ol'],
};

/**
 * Shell variables the script leaves set for the rest of a batch (core/host.ts):
 * the login user, whether sudo works without a password, and the host's class
 * `family:init:container` that a batch written before the facts were known
 * dispatches on (core/prefetch.ts).
 */
export const SHELL_VARS = { user: '__pv_user', noPassword: '__pv_nopw', hostClass: '__pv_key', session: '__pv_sess' } as const;

/** `sshd -T -C` connection spec of a session: host is the address too (no DNS, UseDNS no). */
export const sessionSpec = (s: { user: string; addr: string; laddr: string; lport: number | string }): string =>
  `user=${s.user},host=${s.addr},addr=${s.addr},laddr=${s.laddr},lport=${s.lport}`;

/** The spec of the SSH session the host facts were read in ('' on a local connection): what the script leaves in SHELL_VARS.session. */
export const sessionSpecOf = (f: Pick<HostFacts, 'user' | 'ssh'>): string =>
  f.ssh ? sessionSpec({ user: f.user, addr: f.ssh.clientIp, laddr: f.ssh.serverIp, lport: f.ssh.serverPort }) : '';

const familyCase = (Object.entries(FAMILY_IDS) as [string, readonly string[]][])
  .map(([family, ids]) => `${ids.map((i) => `*" ${i} "*`).join('|')}) __pv_fam=${family} ;;`)
  .join(' ');

/**
 * Builtins where a builtin serves: the uid from /proc/self/status and its name
 * from /etc/passwd (`id`, a fork that loads NSS, only for a user /etc/passwd does
 * not hold, as with LDAP or sssd, or without /proc), `uname -m` only where
 * /proc/sys/kernel/arch is missing, and `sudo -n true` only when not root;
 * everything else is read with `read`, `case` and `[`.
 */
const SCRIPT = [
  'echo "__osrelease_begin"',
  '__pv_f=/etc/os-release; [ -r "$__pv_f" ] || __pv_f=/usr/lib/os-release',
  '__pv_ids=" "',
  'if [ -r "$__pv_f" ]; then while IFS= read -r __pv_l || [ -n "$__pv_l" ]; do',
  `  printf '%s\\n' "$__pv_l"`,
  "  case $__pv_l in ID=*|ID_LIKE=*) __pv_v=${__pv_l#*=}; __pv_v=${__pv_v#[\\\"\\']}; __pv_v=${__pv_v%[\\\"\\']}; __pv_ids=\"$__pv_ids$__pv_v \" ;; esac",
  'done < "$__pv_f"; fi',
  'echo "__osrelease_end"',
  'echo "ssh_connection=$SSH_CONNECTION"',
  '__pv_uid=; __pv_user=',
  '{ while read -r __pv_k __pv_v __pv_l; do case $__pv_k in Uid:) __pv_uid=$__pv_v; break ;; esac; done < /proc/self/status; } 2>/dev/null',
  '[ -n "$__pv_uid" ] && { while IFS=: read -r __pv_n __pv_x __pv_i __pv_l || [ -n "$__pv_n" ]; do if [ "$__pv_i" = "$__pv_uid" ]; then __pv_user=$__pv_n; break; fi; __pv_n=; done < /etc/passwd; } 2>/dev/null',
  'if [ -z "$__pv_user" ]; then',
  // only id's first word, uid=N(name): a uid with no name must not take the group's from gid=N(name)
  '  __pv_id=$(LC_ALL=C id 2>/dev/null); __pv_id=${__pv_id%% *}; __pv_i=${__pv_id#uid=}; __pv_uid=${__pv_uid:-${__pv_i%%[!0-9]*}}',
  '  case $__pv_id in "uid="*"("*) __pv_user=${__pv_id#*\\(}; __pv_user=${__pv_user%%\\)*} ;; *) __pv_user=$__pv_uid ;; esac',
  'fi',
  'echo "uid=$__pv_uid"; echo "user=$__pv_user"',
  // the session sshd -T -C is asked about, from "client port server port" (parseSshConnection)
  `${SHELL_VARS.session}=; case $SSH_CONNECTION in *?" "?*" "?*" "?*) __pv_a=\${SSH_CONNECTION%% *}; __pv_r=\${SSH_CONNECTION#* }; __pv_r=\${__pv_r#* }`,
  `  ${SHELL_VARS.session}="${sessionSpec({ user: '$__pv_user', addr: '$__pv_a', laddr: '${__pv_r%% *}', lport: '${__pv_r#* }' })}" ;; esac`,
  '__pv_l=; read -r __pv_l < /proc/sys/kernel/hostname 2>/dev/null || __pv_l=$(hostname 2>/dev/null); echo "hostname=$__pv_l"',
  '__pv_l=; read -r __pv_l < /proc/sys/kernel/arch 2>/dev/null || __pv_l=$(uname -m); echo "arch=$__pv_l"',
  '__pv_l=; read -r __pv_l < /proc/sys/kernel/osrelease 2>/dev/null || __pv_l=$(uname -r); echo "kernel=$__pv_l"',
  // systemd is the init only when it is PID 1 and running
  '__pv_l=; read -r __pv_l < /proc/1/comm 2>/dev/null',
  'if [ -d /run/systemd/system ]; then __pv_init=systemd; elif [ -d /etc/init.d ] && [ "$__pv_l" = init ]; then __pv_init=sysv; else __pv_init=none; fi; echo "init=$__pv_init"',
  'for pm in apt-get dnf yum; do if command -v $pm >/dev/null 2>&1; then echo "pm=$pm"; break; fi; done',
  '__pv_nopw=0; if command -v sudo >/dev/null 2>&1; then echo sudo=1; if [ "$__pv_uid" = 0 ] || sudo -n true >/dev/null 2>&1; then __pv_nopw=1; echo sudo_nopasswd=1; fi; fi',
  '__pv_ctr=0; if [ -f /.dockerenv ] || [ -f /run/.containerenv ] || [ "$container" != "" ]; then __pv_ctr=1',
  'elif [ -r /proc/1/cgroup ]; then while IFS= read -r __pv_l; do case $__pv_l in *docker*|*lxc*|*kubepods*|*containerd*) __pv_ctr=1; break ;; esac; done < /proc/1/cgroup; fi',
  '[ $__pv_ctr = 1 ] && echo container=1',
  `case $__pv_ids in ${familyCase} *) __pv_fam=unknown ;; esac`,
  `${SHELL_VARS.hostClass}=$__pv_fam:$__pv_init:$__pv_ctr`,
].join('\n');

function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2] ?? '';
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1] as string] = v;
  }
  return out;
}

export function osFamily(id: string, idLike: readonly string[]): OsFamily {
  const ids = [id, ...idLike];
  const found = (Object.entries(FAMILY_IDS) as [OsFamily, readonly string[]][]).find(([, known]) => ids.some((i) => known.includes(i)));
  return found?.[0] ?? 'unknown';
}

/** The dispatch key of a host's class, as the script computes it in `$__pv_key`. */
export const hostClassKey = (f: Pick<HostFacts, 'os' | 'init' | 'container'>): string => `${f.os.family}:${f.init}:${f.container ? 1 : 0}`;

function parseSshConnection(value: string): HostFacts['ssh'] {
  const [clientIp, clientPort, serverIp, serverPort] = value.split(/\s+/);
  if (!clientIp || !clientPort || !serverIp || !serverPort) return null;
  return { clientIp, clientPort: Number(clientPort), serverIp, serverPort: Number(serverPort) };
}

export function parseHostFacts(stdout: string): HostFacts {
  const begin = stdout.indexOf('__osrelease_begin');
  const end = stdout.indexOf('__osrelease_end');
  const osText = begin >= 0 && end > begin ? stdout.slice(begin + '__osrelease_begin'.length, end) : '';
  const rest = end >= 0 ? stdout.slice(end) : stdout;
  const kv: Record<string, string> = {};
  for (const line of rest.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  const os = parseOsRelease(osText);
  const id = (os.ID ?? 'unknown').toLowerCase();
  const idLike = (os.ID_LIKE ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const versionId = os.VERSION_ID ?? '';
  const pm = kv.pm === 'apt-get' ? 'apt' : kv.pm === 'dnf' || kv.pm === 'yum' ? kv.pm : 'none';
  const init = kv.init === 'systemd' || kv.init === 'sysv' ? kv.init : 'none';
  return {
    os: {
      id,
      idLike,
      family: osFamily(id, idLike),
      versionId,
      major: Number.parseInt(versionId, 10),
      prettyName: os.PRETTY_NAME ?? id,
    },
    init,
    packageManager: pm,
    uid: Number.parseInt(kv.uid ?? '-1', 10),
    user: kv.user ?? '',
    sudo: kv.sudo === '1',
    sudoNoPassword: kv.sudo_nopasswd === '1',
    container: kv.container === '1',
    hostname: kv.hostname ?? '',
    arch: kv.arch ?? '',
    kernel: kv.kernel ?? '',
    ssh: parseSshConnection(kv.ssh_connection ?? ''),
  };
}

export const hostFacts: Fact<null, HostFacts> = {
  name: 'host',
  command: () => SCRIPT,
  parse: (stdout) => parseHostFacts(stdout),
};
