/**
 * Pure firewalld model for the `firewalld` task's lockout pre-flight: which
 * zone a new SSH connection of ours lands in, and whether that zone lets it
 * in.
 *
 * The zone: the zone of a source that contains our address (sources bind
 * before interfaces), else the zone of the interface holding the address we
 * connected to, else the default zone. When that interface is not known,
 * every zone with an interface and the default zone are candidates.
 *
 * In the zone (firewalld's chains: deny before allow): a rich rule that
 * rejects or drops and may match cuts it; then target ACCEPT, the ssh
 * service (22/tcp), a port, or an accepting rich rule let it in; otherwise
 * the zone's target (default: reject) refuses it.
 */
import type { FirewalldConfig, FirewalldZone } from '../../facts/firewalld.js';
import { addressMatches, all, portMatches, tcpMatches, type SshConn, type Tri } from './firewall-access.js';
import { ipVersionOf } from './iptables.js';

/** Services whose ports the pre-flight knows (firewalld's own definitions in /usr/lib/firewalld/services); another service may match. */
const SERVICE_PORTS: Record<string, string> = { ssh: '22/tcp', http: '80/tcp', https: '443/tcp', dns: '53/tcp', smtp: '25/tcp', mysql: '3306/tcp', postgresql: '5432/tcp' };

/** `rule family="ipv4" source address="10.0.0.0/8" service name="ssh" accept` → its words, quotes removed. */
export function richWords(rule: string): string[] {
  return [...rule.matchAll(/(\S+?)=("([^"]*)"|'([^']*)'|\S+)|\S+/g)].map((m) => (m[1] !== undefined ? `${m[1]}=${m[3] ?? m[4] ?? m[2]}` : m[0]));
}

/** Two rich rules say the same (their words, in any order: firewalld prints them in its own order and quoting). */
export const sameRich = (a: string, b: string): boolean => richWords(a).sort().join(' ') === richWords(b).sort().join(' ');

/** Does a rich rule match our SSH connection, and what does it do? */
function richVerdict(rule: string, conn: SshConn): { match: Tri; action: string } {
  const w = richWords(rule);
  const val = (key: string, after: string): string | undefined => {
    const i = w.indexOf(after);
    return i < 0 ? undefined : w.slice(i + 1).find((x) => x.startsWith(`${key}=`))?.slice(key.length + 1);
  };
  const action = w.find((x) => /^(accept|reject|drop|mark)$/.test(x)) ?? '';
  const fam = w.find((x) => x.startsWith('family='))?.slice(7);
  const ours = ipVersionOf(conn.clientIp) === 6 ? 'ipv6' : 'ipv4';
  const checks: Tri[] = [fam === undefined || fam === ours ? 'yes' : 'no'];
  const src = val('address', 'source');
  if (src !== undefined) {
    const m = addressMatches(src, conn.clientIp);
    checks.push(w[w.indexOf('source') + 1] === 'not' ? (m === 'yes' ? 'no' : m === 'no' ? 'yes' : 'maybe') : m);
  }
  if (w.includes('destination') || w.includes('ipset') || w.some((x) => x.startsWith('mac='))) checks.push('maybe');
  const svc = val('name', 'service');
  if (svc !== undefined) checks.push(SERVICE_PORTS[svc] ? portListMatches([SERVICE_PORTS[svc] as string], conn.serverPort) : 'maybe');
  const port = val('port', 'port');
  if (port !== undefined) checks.push(all(tcpMatches(val('protocol', 'port') ?? 'tcp'), portMatches(port, conn.serverPort)));
  if (w.includes('protocol') || w.includes('icmp-block') || w.includes('icmp-type') || w.includes('forward-port') || w.includes('masquerade')) checks.push('no');
  return { match: all(...checks), action };
}

/** `22/tcp`, `1000-2000/udp` against tcp/port. */
function portListMatches(ports: readonly string[], port: number): Tri {
  return ports.some((p) => {
    const [n = '', proto = ''] = p.split('/');
    return tcpMatches(proto) === 'yes' && portMatches(n, port) === 'yes';
  })
    ? 'yes'
    : 'no';
}

/** Why the zone does not let a new SSH connection in; undefined when it does. */
export function zoneBlocksSsh(z: FirewalldZone, conn: SshConn): string | undefined {
  const what = `a new SSH connection (tcp/${conn.serverPort} from ${conn.clientIp})`;
  for (const r of z.richRules) {
    const v = richVerdict(r, conn);
    if ((v.action === 'reject' || v.action === 'drop') && v.match !== 'no') return `firewalld zone ${z.name}: rich rule '${r}' ${v.match === 'yes' ? 'blocks' : 'may block'} ${what}`;
  }
  if (z.target === 'ACCEPT') return undefined;
  const services = z.services.flatMap((s) => (SERVICE_PORTS[s] ? [SERVICE_PORTS[s] as string] : []));
  if (portListMatches([...services, ...z.ports], conn.serverPort) === 'yes') return undefined;
  if (z.richRules.some((r) => richVerdict(r, conn).match === 'yes' && richVerdict(r, conn).action === 'accept')) return undefined;
  return `firewalld zone ${z.name} (target ${z.target}) has no ssh service, port or rule that lets in ${what}`;
}

/** The zones our SSH connection may land in (see the module comment). */
export function sshZones(c: FirewalldConfig, conn: SshConn, addresses: Readonly<Record<string, readonly string[]>>): string[] {
  const zones = Object.values(c.zones);
  const bySource = zones.filter((z) => z.sources.some((s) => addressMatches(s, conn.clientIp) === 'yes'));
  if (bySource.length > 0) return bySource.map((z) => z.name);
  const iface = conn.serverIp === undefined ? undefined : Object.keys(addresses).find((i) => addresses[i]?.includes(conn.serverIp as string));
  if (iface !== undefined) return [zones.find((z) => z.interfaces.includes(iface))?.name ?? c.defaultZone];
  return [...new Set([...zones.filter((z) => z.interfaces.length > 0).map((z) => z.name), c.defaultZone])];
}

/** Why a new SSH connection would be cut with this configuration; undefined when every zone it may land in lets it in. */
export function firewalldBlocksSsh(c: FirewalldConfig, conn: SshConn, addresses: Readonly<Record<string, readonly string[]>>): string | undefined {
  for (const name of sshZones(c, conn, addresses)) {
    const z = c.zones[name];
    const why = z ? zoneBlocksSsh(z, conn) : undefined;
    if (why) return why;
  }
  return undefined;
}
