/**
 * Jump hosts shared by every connection that goes through them, as OpenSSH's
 * ControlMaster would: 200 hosts behind one bastion make one handshake with the
 * bastion, not 200, so its `MaxStartups` (10:30:100 by default: unauthenticated
 * connections past 10 are dropped at random) never sees a burst, and each target
 * is reached through a forwarded channel of that one connection. A hop is closed
 * when the last connection using it closes, and forgotten as soon as it is lost,
 * so the next connection opens a new one.
 */

export interface Closable {
  end(): void;
  once(event: 'close', listener: () => void): unknown;
}

interface Entry<C extends Closable> {
  client: Promise<C>;
  users: number;
}

export class HopPool<C extends Closable> {
  private readonly entries = new Map<string, Entry<C>>();

  /**
   * The hop under `key`, opened with `open` when there is none (or the last one
   * was lost), and the function that lets go of it: the last user's release closes it.
   */
  async acquire(key: string, open: () => Promise<C>): Promise<{ client: C; release: () => void }> {
    let entry = this.entries.get(key);
    if (!entry) {
      const fresh: Entry<C> = { client: open(), users: 0 };
      this.entries.set(key, fresh);
      fresh.client.then(
        (c) => c.once('close', () => this.forget(key, fresh)),
        () => this.forget(key, fresh),
      );
      entry = fresh;
    }
    const held = entry;
    held.users++;
    try {
      const client = await held.client;
      let released = false;
      return {
        client,
        release: () => {
          if (released) return;
          released = true;
          if (--held.users > 0) return;
          this.forget(key, held);
          client.end();
        },
      };
    } catch (err) {
      held.users--;
      throw err;
    }
  }

  /** Hops open or opening now. */
  get size(): number {
    return this.entries.size;
  }

  private forget(key: string, entry: Entry<C>): void {
    if (this.entries.get(key) === entry) this.entries.delete(key);
  }
}
