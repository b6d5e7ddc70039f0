import type { Logger } from '@nestjs/common';

/** Runs `fn`; a failure is logged as a warning (`<what> failed: …`) and yields undefined instead of throwing. */
export async function safely<T>(logger: Logger, what: string, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    logger.warn(`${what} failed: ${String(err)}`);
    return undefined;
  }
}
