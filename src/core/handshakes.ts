/**
 * How many SSH handshakes run at once, apart from how many hosts are worked on
 * (forks). A handshake costs both ends CPU (key exchange, signatures) and sshd
 * refuses new ones past `MaxStartups` (10:30:100 by default, also on a jump
 * host): with 200 hosts starting theirs at once, each side starves the other
 * and the handshake timeouts fire. So handshakes go through this limiter, an
 * additive-increase, multiplicative-decrease ramp: it starts with a few, lets
 * one more run each time one finishes quickly, and halves the limit (not below
 * a floor) when one fails or is slow: slower than `slowMs` and than three times
 * the fastest seen, so a control machine that is slow for every handshake alike
 * does not end up connecting one host at a time. A host's connect timeout starts when its handshake starts
 * (the wait for a slot is not counted against it), and how long a host may stay
 * silent stretches with the pace the other hosts of the run set: on a machine
 * where every handshake takes 8 s, a host silent for 10 s is not yet
 * unreachable (`patience`). Local
 * connections do not handshake and pass straight through.
 */
import type { Connector } from './connect.js';

export interface HandshakeLimits {
  /** Handshakes allowed at first. */
  start: number;
  /** The limit never falls below this. */
  min: number;
  /** Never more than this many at once. */
  max: number;
  /** A handshake slower than this (ms) and than 3 times the fastest seen, or one that fails, halves the limit. */
  slowMs: number;
}

/** How many recent successful handshakes set the pace. */
const PACE_WINDOW = 16;
/** A host may be silent this many times as long as the slowest recent handshake took... */
const PACE_FACTOR = 3;
/** ...but never more than this many times its own connect timeout. */
const PATIENCE_CAP = 6;

/** 10 at first: sshd drops none of 10 unauthenticated connections (MaxStartups 10:30:100), a jump host included. */
const DEFAULT_HANDSHAKES: HandshakeLimits = { start: 10, min: 4, max: 64, slowMs: 2_000 };

export class HandshakeLimiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** The current limit (between 1 and `max`). */
  limit: number;
  /** The most handshakes seen running at once. */
  peak = 0;
  private fastest = Infinity;
  private readonly recent: number[] = [];

  constructor(
    private readonly limits: HandshakeLimits = DEFAULT_HANDSHAKES,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.limit = Math.max(limits.min, Math.min(limits.start, limits.max));
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
      const took = this.now() - t0;
      this.fastest = Math.min(this.fastest, took);
      this.recent.push(took);
      if (this.recent.length > PACE_WINDOW) this.recent.shift();
      fast = took < Math.max(this.limits.slowMs, 3 * this.fastest);
      return result;
    } finally {
      this.running--;
      this.limit = fast ? Math.min(this.limits.max, this.limit + 1) : Math.max(this.limits.min, Math.floor(this.limit / 2));
      while (this.running < this.limit && this.waiting.length > 0) {
        this.running++;
        this.waiting.shift()!();
      }
    }
  }

  /**
   * How long (ms) a host whose connect timeout is `timeoutMs` may stay silent: longer when
   * the recent handshakes of this run were slow (3 times the slowest of the last
   * 16), never shorter, and at most 6 times as long.
   */
  patience(timeoutMs: number): number {
    const slowest = this.recent.length > 0 ? Math.max(...this.recent) : 0;
    return Math.round(Math.min(timeoutMs * PATIENCE_CAP, Math.max(timeoutMs, slowest * PACE_FACTOR)));
  }
}

/** `connect` with its SSH handshakes through `limiter`, each host allowed the silence the run's pace allows. */
export function limitHandshakes(connect: Connector, limiter: HandshakeLimiter): Connector {
  return (spec, extra) =>
    spec.connection.connection === 'local'
      ? connect(spec, extra)
      : limiter.run(() => connect(spec, { ...extra, silenceMs: limiter.patience(spec.connection.connectTimeoutMs) }));
}
