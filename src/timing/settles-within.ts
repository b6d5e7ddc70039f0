import type { Clock, ClockTimer } from '../ports/clock.js';

/** True if `promise` settles (either way) within `ms` of Clock time, else false. */
export async function settlesWithin(clock: Clock, promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ClockTimer | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clock.clear(timer);
  }
}
