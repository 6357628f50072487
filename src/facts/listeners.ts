/**
 * Listening sockets: `ss -H -tulpn` (iproute2), falling back to `ss -tulpn`
 * (old iproute2 without -H) and `netstat -tulpn` (net-tools). TCP sockets in
 * LISTEN and bound UDP sockets, with the owning process when we can see it
 * (needs root for other users' processes).
 *
 * Recorded outputs: test/fixtures/facts/ss/ (Debian 11/12/13, root and nobody);
 * captured ones of Ubuntu and RHEL 7/8: test/fixtures/facts/<distro>/ (SOURCES.md).
 */
import { FactError } from '../contract/errors.js';
import { req, type Fact, type FactRequest } from '../contract/fact.js';

export interface Listener {
  readonly proto: 'tcp' | 'udp';
  /** Bound address without brackets or zone: `0.0.0.0`, `::`, `127.0.0.53`, `*` (all, both families). */
  readonly address: string;
  readonly port: number;
  /** `sshd`: the first process owning the socket, when visible. */
  readonly process?: string;
  readonly pid?: number;
}

export interface ListenersInfo {
  /** `ss`, `netstat`, or `none` when neither is installed. */
  readonly tool: 'ss' | 'netstat' | 'none';
  readonly listeners: readonly Listener[];
}

const SCRIPT = [
  'PATH="$PATH:/usr/sbin:/sbin"',
  'if command -v ss >/dev/null 2>&1; then echo __tool=ss; ss -H -tulpn 2>/dev/null || ss -tulpn',
  'elif command -v netstat >/dev/null 2>&1; then echo __tool=netstat; netstat -tulpn 2>/dev/null',
  'else echo __tool=none; fi',
].join('\n');

/** `0.0.0.0:22`, `[::]:22`, `*:514`, `127.0.0.53%lo:53`, `[fe80::1]%eth0:546`, `:::22` (netstat). */
export function splitAddress(text: string): { address: string; port: number } | undefined {
  const i = text.lastIndexOf(':');
  if (i < 0) return undefined;
  const portText = text.slice(i + 1);
  if (!/^\d+$/.test(portText)) return undefined;
  let address = text.slice(0, i);
  address = address.replace(/%[^\]]*$/, ''); // zone after the address (ss prints 127.0.0.53%lo)
  if (address.startsWith('[')) address = address.slice(1, address.indexOf(']') >= 0 ? address.indexOf(']') : undefined);
  address = address.replace(/%.*$/, '');
  return { address: address === '' ? '*' : address, port: Number(portText) };
}

function parseSs(lines: string[]): Listener[] {
  const out: Listener[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[0] === 'Netid') continue;
    const proto = f[0] === 'tcp' || f[0] === 'udp' ? f[0] : undefined;
    if (!proto) continue;
    const local = splitAddress(f[4] as string);
    if (!local) continue;
    // iproute2 >= 3.18: ("sshd",pid=1231,fd=3); older (RHEL/CentOS 7's 3.10): ("sshd",1231,3)
    const users = /users:\(\("((?:[^"\\]|\\.)*)",(?:pid=)?(\d+)/.exec(line);
    out.push({ proto, ...local, ...(users ? { process: users[1] as string, pid: Number(users[2]) } : {}) });
  }
  return out;
}

function parseNetstat(lines: string[]): Listener[] {
  const out: Listener[] = [];
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    const p = f[0] ?? '';
    if (!/^(tcp|udp)6?$/.test(p)) continue;
    const proto = p.startsWith('tcp') ? 'tcp' : 'udp';
    if (proto === 'tcp' && f[5] !== 'LISTEN') continue;
    const local = splitAddress(f[3] ?? '');
    if (!local) continue;
    // tcp has a State column, udp usually not: PID/Program is the last column either way
    const prog = /^(\d+)\/(.+)$/.exec(f[proto === 'tcp' ? 6 : f.length - 1] ?? '');
    const name = prog ? (prog[2] as string).split(/[:\s]/)[0] : undefined;
    out.push({ proto, ...local, ...(prog && name ? { process: name, pid: Number(prog[1]) } : {}) });
  }
  return out;
}

/** Pure parser of the fact command's output. */
export function parseListeners(stdout: string, exitCode = 0): ListenersInfo {
  const lines = stdout.split('\n');
  const tool = /^__tool=(\w+)$/m.exec(stdout)?.[1];
  if (tool === 'none') return { tool: 'none', listeners: [] };
  if (tool !== 'ss' && tool !== 'netstat') throw new FactError('listeners', `unexpected output (exit ${exitCode}): ${JSON.stringify(stdout.slice(0, 200))}`);
  const body = lines.filter((l) => !l.startsWith('__tool='));
  const listeners = tool === 'ss' ? parseSs(body) : parseNetstat(body);
  // one entry per socket: ss lists nothing twice, but sort for stable output
  const sorted = [...listeners].sort((a, b) => a.proto.localeCompare(b.proto) || a.port - b.port || a.address.localeCompare(b.address));
  return { tool, listeners: sorted };
}

export const listenersFact: Fact<null, ListenersInfo> = {
  name: 'listeners',
  command: () => SCRIPT,
  parse: (stdout, _args, exitCode) => parseListeners(stdout, exitCode),
  key: () => 'all',
};

export const listeners = (): FactRequest<ListenersInfo> => req(listenersFact, null);

/** Loopback-only addresses: 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopback(address: string): boolean {
  return /^127\./.test(address) || address === '::1' || /^::ffff:127\./i.test(address);
}
