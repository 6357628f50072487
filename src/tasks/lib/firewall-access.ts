/**
 * Does a firewall manager's rule (ufw, firewalld) match a new connection of
 * ours to sshd? Three answers: yes, no, or maybe (a selector the pre-flight
 * cannot decide, e.g. an interface or a source port): an allowing rule counts
 * only when it matches for sure, a blocking one as soon as it may match.
 */
import { cidrContains, cidrToText, ipVersionOf, parseCidr } from './iptables.js';

export type Tri = 'yes' | 'no' | 'maybe';

/** The SSH connection the pre-flight keeps open. */
export interface SshConn {
  readonly clientIp: string;
  /** The address the host accepted us on, when known. */
  readonly serverIp?: string;
  readonly serverPort: number;
}

export const all = (...t: Tri[]): Tri => (t.includes('no') ? 'no' : t.includes('maybe') ? 'maybe' : 'yes');

/** An address or network (`any` for all) against an address; maybe when the address is unknown. */
export function addressMatches(spec: string, ip: string | undefined): Tri {
  if (spec === 'any' || spec === '') return 'yes';
  if (ip === undefined) return 'maybe';
  const v = ipVersionOf(ip);
  const c = v === undefined ? undefined : parseCidr(spec, v);
  if (!c) return ipVersionOf(spec.replace(/\/.*$/, '')) === undefined ? 'maybe' : 'no';
  return cidrContains(c, ip) ? 'yes' : 'no';
}

/** A port list (`22`, `80,443`, `1000:2000`, `1000-2000`, `any`) against a port. */
export function portMatches(spec: string, port: number): Tri {
  if (spec === 'any' || spec === '') return 'yes';
  for (const part of spec.split(',')) {
    const [a, b] = part.split(/[:-]/).map(Number);
    if (a === undefined || Number.isNaN(a)) return 'maybe'; // a service name
    if (port >= a && port <= (b ?? a)) return 'yes';
  }
  return 'no';
}

/** A protocol (`any`, `tcp`, `udp`, ...) against TCP. */
export const tcpMatches = (proto: string): Tri => (proto === 'any' || proto === '' || proto === 'tcp' ? 'yes' : 'no');

/** `10.0.0.1/32` → `10.0.0.1`, `10.1.2.3/8` → `10.0.0.0/8` (host bits cleared, as ufw and firewalld store them); `any` stays. */
export function normaliseAddress(a: string): string {
  if (a === 'any') return a;
  const v = ipVersionOf(a.replace(/\/.*$/, ''));
  const c = v === undefined ? undefined : parseCidr(a, v);
  if (!c) return a;
  return c.prefix === (v === 4 ? 32 : 128) ? cidrToText(c).replace(/\/\d+$/, '') : cidrToText(c);
}

