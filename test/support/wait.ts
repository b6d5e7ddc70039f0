/**
 * Polling for real-Redis and multi-process tests (real time; in-memory tests use the TestClock instead).
 * One helper for every test folder, so the deadline and the failure message read the same everywhere.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition', intervalMs = 20): Promise<void> {
  await waitForValue(what, async () => check(), (ok) => ok, timeoutMs, intervalMs);
}

/** Polls `read` until `done(value)` holds and returns that value; the error shows the last value read. */
export async function waitForValue<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      const last = typeof value === 'boolean' ? '' : `; last value: ${JSON.stringify(value)?.slice(0, 500)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
