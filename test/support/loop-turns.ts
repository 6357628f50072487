/** A counter of the event loop's turns, bumped by a chain of setImmediate, until stop(). */
export function loopTurns(): { readonly count: number; stop(): void } {
  let count = 0;
  let stopped = false;
  const next = (): void => void setImmediate(() => (count++, stopped || next()));
  next();
  return {
    get count() {
      return count;
    },
    stop: () => void (stopped = true),
  };
}
