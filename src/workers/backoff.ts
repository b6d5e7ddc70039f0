import type { BackoffOptions } from 'bullmq';

/** Delay before retry number `failures` (1 = after the first failure), BullMQ's built-in strategies. */
export function backoffDelay(backoff: number | BackoffOptions | undefined, failures: number): number {
  if (backoff === undefined) return 0;
  if (typeof backoff === 'number') return Math.max(0, backoff);
  const delay = Math.max(0, backoff.delay ?? 0);
  if (backoff.type === 'exponential') return Math.round(2 ** (failures - 1) * delay);
  return delay;
}
