/**
 * pyinfra inventory (a Python file) for a fleet of sshd hosts: the same hosts, user,
 * key and known_hosts as provision's and Ansible's inventories, host keys checked
 * (ssh_strict_host_key_checking yes), sudo for every operation (`_sudo`).
 *
 *   renderPyinfraInventory(hosts, { user, identityFile, knownHostsFile })
 *
 * Standalone, from a provision inventory such as the one `npm run fleet -- up 3` writes:
 *
 *   npx tsx bench/pyinfra/inventory.ts .fleet/inventory.yaml [--user admin] > /tmp/inventory.py
 *   pyinfra -y /tmp/inventory.py bench/pyinfra/deploy.py --data workload=core
 *
 * (Give pyinfra the inventory by an absolute path: a relative `inventory.py` is first
 * tried as a Python import and a host name, with a warning.)
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface PyinfraInventoryVars {
  user: string;
  identityFile: string;
  knownHostsFile: string;
  /** Run every operation with sudo (default true: the fleet's admin user). */
  sudo?: boolean;
}

/** A Python string literal (JSON's escapes are valid Python). */
const py = (s: string): string => JSON.stringify(s);

export function renderPyinfraInventory(hosts: { name: string; host: string; port: number }[], vars: PyinfraInventoryVars): string {
  const lines = [
    '# Written by bench/pyinfra/inventory.ts: one group of the fleet hosts and their shared SSH data.',
    'bench = (',
    '    [',
    ...hosts.map((h) => `        (${py(h.name)}, {"ssh_hostname": ${py(h.host)}, "ssh_port": ${Number(h.port)}}),`),
    '    ],',
    '    {',
    `        "ssh_user": ${py(vars.user)},`,
    `        "ssh_key": ${py(vars.identityFile)},`,
    `        "ssh_known_hosts_file": ${py(vars.knownHostsFile)},`,
    '        "ssh_strict_host_key_checking": "yes",',
    '        "ssh_allow_agent": False,',
    '        "ssh_look_for_keys": False,',
    `        "_sudo": ${vars.sudo === false ? 'False' : 'True'},`,
    '    },',
    ')',
  ];
  return lines.join('\n') + '\n';
}

/** Hosts and SSH settings of a provision inventory in the fleet's shape (all.vars + all.hosts). */
export function fromProvisionInventory(text: string, user?: string): string {
  const doc = parse(text) as { all?: { vars?: Record<string, unknown>; hosts?: Record<string, { host?: string; port?: number } | null> } };
  const vars = doc.all?.vars ?? {};
  const hosts = Object.entries(doc.all?.hosts ?? {}).map(([name, h]) => ({ name, host: h?.host ?? name, port: h?.port ?? 22 }));
  const str = (k: string): string => {
    const v = vars[k];
    if (typeof v !== 'string') throw new Error(`inventory: all.vars.${k} missing`);
    return v;
  };
  return renderPyinfraInventory(hosts, { user: user ?? str('user'), identityFile: str('identity_file'), knownHostsFile: str('known_hosts_file') });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const u = args.indexOf('--user');
  const user = u >= 0 ? args.splice(u, 2)[1] : undefined;
  if (args.length !== 1) {
    console.error('usage: npx tsx bench/pyinfra/inventory.ts INVENTORY.yaml [--user admin] > inventory.py');
    process.exit(2);
  }
  process.stdout.write(fromProvisionInventory(readFileSync(args[0]!, 'utf8'), user));
}
