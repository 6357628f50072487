/**
 * The default way to reach a host described by the inventory: the local
 * connection, or SSH with the inventory's settings.
 */
import { LocalConnection } from '../connections/local.js';
import type { Connection } from '../connections/types.js';
import type { HostSpec } from './inventory.js';

export interface ConnectExtra {
  /** Host key verified on the previous connection (sshd moved port). */
  trustKey?: Buffer;
  /** Connect attempts (the guard's own loop retries, so it asks for one). */
  attempts?: number;
  /** Accept only these host key algorithms (confirming that sshd presents a new host key). */
  hostKeyAlgorithms?: readonly string[];
  /** How long (ms) the host may stay silent while connecting, when the run's pace allows more than its connect timeout (handshakes.ts). */
  silenceMs?: number;
}

export type Connector = (spec: HostSpec, extra?: ConnectExtra) => Promise<Connection>;

export async function connectHost(spec: HostSpec, extra: ConnectExtra = {}): Promise<Connection> {
  const c = spec.connection;
  if (c.connection === 'local') return new LocalConnection(spec.name);
  // ssh2 is loaded with the first SSH connection, not at start-up
  const { connectSsh } = await import('../connections/ssh.js');
  return connectSsh({
    name: spec.name,
    host: c.host,
    port: c.port,
    ...(c.user !== undefined ? { user: c.user } : {}),
    ...(c.identityFile !== undefined ? { identityFile: c.identityFile } : {}),
    ...(c.passphrase !== undefined ? { passphrase: c.passphrase } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
    ...(c.knownHostsFile !== undefined ? { knownHostsFile: c.knownHostsFile } : {}),
    ...(c.identitiesOnly ? { agent: '' } : {}), // IdentitiesOnly: no ssh-agent keys
    hostKeyPolicy: c.hostKeyPolicy,
    jump: c.jump,
    connectTimeoutMs: c.connectTimeoutMs,
    ...(extra.trustKey ? { trustKey: extra.trustKey } : {}),
    ...(extra.attempts ? { attempts: extra.attempts } : {}),
    ...(extra.hostKeyAlgorithms ? { hostKeyAlgorithms: extra.hostKeyAlgorithms } : {}),
    ...(extra.silenceMs ? { silenceMs: extra.silenceMs } : {}),
  });
}
