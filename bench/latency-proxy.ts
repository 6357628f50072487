/**
 * WAN emulation for the benchmark: a TCP proxy on 127.0.0.1 that delays every
 * chunk by `delayMs` in each direction (so one round trip costs 2 x delayMs)
 * and counts round trips per connection, as the ground truth for provision's
 * own count (SshConnection.stats.roundTrips).
 *
 * A round trip ("turn") is counted when the client sends after the proxy has
 * delivered data from the server to it since the client's previous send (the
 * first send counts). The TCP connect is one more: the proxy answers it after
 * 2 x delayMs, like a SYN/SYN-ACK over the emulated link.
 *
 *   const p = await startLatencyProxy({ target: { host: '127.0.0.1', port: 32768 }, delayMs: 25 });
 *   // connect to 127.0.0.1:p.port instead; p.turns(), p.connections, await p.close()
 *
 * Standalone: npx tsx bench/latency-proxy.ts <targetPort> [delayMs] [listenPort]
 */
import { createServer, connect, type Socket } from 'node:net';

export interface LatencyProxy {
  port: number;
  /** Round trips counted on every connection so far (TCP connect included). */
  turns(): number;
  /** Per connection, in accept order. */
  readonly connections: { turns: number; bytesUp: number; bytesDown: number }[];
  reset(): void;
  close(): Promise<void>;
}

export async function startLatencyProxy(opts: { target: { host: string; port: number }; delayMs: number; listenPort?: number }): Promise<LatencyProxy> {
  const connections: LatencyProxy['connections'] = [];
  const sockets = new Set<Socket>();
  const delay = opts.delayMs;
  const server = createServer({ noDelay: true, pauseOnConnect: true }, (client) => {
    const stat = { turns: 1, bytesUp: 0, bytesDown: 0 };
    connections.push(stat);
    sockets.add(client);
    let deliveredDown = true; // the first client send counts as a turn
    const upstream = connect({ host: opts.target.host, port: opts.target.port, noDelay: true });
    sockets.add(upstream);
    // a FIFO per direction: chunks leave in order, each delayMs after it arrived
    const pipe = (from: Socket, to: Socket, up: boolean) => {
      from.on('data', (d: Buffer) => {
        if (up) {
          stat.bytesUp += d.length;
          if (deliveredDown) {
            stat.turns++;
            deliveredDown = false;
          }
        } else stat.bytesDown += d.length;
        setTimeout(() => {
          if (!to.destroyed) to.write(d);
          if (!up) deliveredDown = true;
        }, delay);
      });
      from.on('end', () => setTimeout(() => to.end(), delay));
      from.on('error', () => to.destroy());
      from.on('close', () => {
        sockets.delete(from);
        setTimeout(() => to.destroy(), delay + 1);
      });
    };
    pipe(client, upstream, true);
    pipe(upstream, client, false);
    // the emulated TCP handshake: data flows after one round trip
    setTimeout(() => client.resume(), 2 * delay);
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(opts.listenPort ?? 0, '127.0.0.1', () => res());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    connections,
    turns: () => connections.reduce((n, c) => n + c.turns, 0),
    reset: () => void connections.splice(0),
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [target, delay, listen] = process.argv.slice(2);
  if (!target) {
    console.error('usage: tsx bench/latency-proxy.ts <targetPort> [delayMs=25] [listenPort]');
    process.exit(2);
  }
  const p = await startLatencyProxy({ target: { host: '127.0.0.1', port: Number(target) }, delayMs: Number(delay ?? 25), ...(listen ? { listenPort: Number(listen) } : {}) });
  console.log(`127.0.0.1:${p.port} -> 127.0.0.1:${target}, +${delay ?? 25} ms each way`);
  process.on('SIGINT', () => {
    console.log(p.connections);
    void p.close().then(() => process.exit(0));
  });
}
