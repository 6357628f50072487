/**
 * How many SSH handshakes run at once, apart from how many hosts are worked on
 * (forks). A handshake costs both ends CPU (key exchange, signatures) and sshd
 * refuses new ones past `MaxStartups` (10:30:100 by default, also on a jump
 * host): with 200 hosts starting theirs at once, each side starves the other
 * and the handshake timeouts fire. So handshakes go through this limiter, an
 * additive-increase, multiplicative-decrease ramp: it starts with a few, lets
 * one more run each time one finishes quickly, and halves the limit when one
 * is slow or fails. A host's connect timeout starts when its handshake starts
 * (the wait for a slot is not counted against it). Local connections do not
 * handshake and pass straight through.
 */
import type { Connector } from './connect.js';

export interface HandshakeLimits {
  /** Handshakes allowed at first. */
  start: number;
  /** Never more than this many at once. */
  max: number;
  /** A handshake slower than this (ms), or one that fails, halves the limit. */
  slowMs: number;
}

export const DEFAULT_HANDSHAKES: HandshakeLimits = { start: 8, max: 64, slowMs: 2_000 };

export class HandshakeLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** The current limit (between 1 and `max`). */
  limit: number;
  /** The most handshakes seen running at once. */
  peak = 0;

  constructor(
    private readonly limits: HandshakeLimits = DEFAULT_HANDSHAKES,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limit = Math.max(1, Math.min(limits.start, limits.max));
  }

  /** Run `handshake` when a slot is free; its duration and outcome move the limit. */
  async run<T>(handshake: () => Promise<T>): Promise<T> {
    // a waiter is woken with its slot already counted in `running`
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.peak = Math.max(this.peak, this.running);
    const t0 = this.now();
    let fast = false;
    try {
      const result = await handshake();
      fast = this.now() - t0 < this.limits.slowMs;
      return result;
    } finally {
      this.running--;
      this.limit = fast ? Math.min(this.limits.max, this.limit + 1) : Math.max(1, Math.floor(this.limit / 2));
      while (this.running < this.limit && this.waiting.length > 0) {
        this.running++;
        this.waiting.shift()!();
      }
    }
  }
}

/** `connect` with its SSH handshakes through `limiter`. */
export function limitHandshakes(connect: Connector, limiter: HandshakeLimiter): Connector {
  return (spec, extra) => (spec.connection.connection === 'local' ? connect(spec, extra) : limiter.run(() => connect(spec, extra)));
}
