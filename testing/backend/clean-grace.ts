/**
 * `Queue#clean(grace, …)` sends the backend `Date.now() - grace` (real time), but the in-memory store ages jobs on
 * its own clock, so the backend needs `grace` itself. Recomputing it as `Date.now() - timestamp` is off by the real
 * milliseconds between the two `Date.now()` calls (under load a clean(0) then spares jobs added "just now" on a
 * TestClock, which Redis would remove). This records the `grace` of each call on the Queue that owns the backend,
 * so the backend reads it exactly; a call it did not see (another owner) falls back to the real-time difference.
 */
export class CleanGraces {
  /** The grace of the clean call running synchronously right now (its first batch). */
  private latest: number | undefined;
  private recorded: number | undefined;
  /** Later batches of a running call (same `timestamp`), until that call settles. */
  private readonly byTimestamp = new Map<number, number>();

  /** Wraps `owner.clean` (a BullMQ Queue) to note each call's grace; other owners are left alone. */
  constructor(owner: unknown) {
    const queue = owner as { clean?: (grace: number, ...rest: unknown[]) => Promise<unknown> } | undefined;
    const clean = queue?.clean;
    if (!queue || typeof clean !== 'function') return;
    queue.clean = (grace: number, ...rest: unknown[]) => {
      this.latest = Math.max(0, Number(grace) || 0);
      this.recorded = undefined;
      let result: Promise<unknown>;
      try {
        result = clean.call(queue, grace, ...rest);
      } finally {
        this.latest = undefined;
      }
      const timestamp = this.recorded;
      this.recorded = undefined;
      if (timestamp === undefined) return result;
      return result.finally(() => this.byTimestamp.delete(timestamp));
    };
  }

  /** The grace (ms) of the clean call that sent `timestamp` (the same for every batch of that call). */
  graceFor(timestamp: number): number {
    if (this.latest !== undefined) {
      this.byTimestamp.set(timestamp, this.latest);
      this.recorded = timestamp;
      return this.latest;
    }
    return this.byTimestamp.get(timestamp) ?? Math.max(0, Date.now() - timestamp);
  }
}
