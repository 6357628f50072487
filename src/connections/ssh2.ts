/**
 * ssh2, loaded on first use. Three of its modules, not its index: that one also
 * loads ssh2's server, key generator and HTTP(S) agents, and with them Node's http,
 * https and tls (~15% of the CPU before a one-host audit's first connect). ssh2 is
 * pinned, so these paths hold. A run loads them once its first connection has
 * dialled (ssh.ts), so the host's sshd forks and starts while they load (about 25 ms);
 * only default keys (`~/.ssh/id_*`, parsed before the dial) load them sooner. A run
 * that connects to no host (validate, local connections) never loads them.
 */
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';

// (`require` by that name: the bundle build turns it into the bundle's own, and bundles these)
const require = createRequire(import.meta.url);

export interface Ssh2Modules {
  Client: typeof Ssh2.Client;
  parseKey: typeof Ssh2.utils.parseKey;
  createAgent: typeof Ssh2.createAgent;
}

let loaded: Ssh2Modules | undefined;

export function ssh2(): Ssh2Modules {
  return (loaded ??= {
    Client: require('ssh2/lib/client.js') as typeof Ssh2.Client,
    parseKey: (require('ssh2/lib/protocol/keyParser.js') as typeof Ssh2.utils).parseKey,
    createAgent: (require('ssh2/lib/agent.js') as { createAgent: typeof Ssh2.createAgent }).createAgent,
  });
}
