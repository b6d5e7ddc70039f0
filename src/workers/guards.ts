import type { Logger } from '@nestjs/common';
import type { Clock, ClockTimer } from '../ports/clock.js';

/** Runs `fn`; a failure is logged as a warning (`<what> failed: …`) and yields undefined instead of throwing. */
export async function safely<T>(logger: Logger, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    logger.warn(`${what} failed: ${String(err)}`);
    return undefined;
  }
}

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
