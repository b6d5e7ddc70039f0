const realSetImmediate = globalThis.setImmediate;
let inFlight = 0;

/**
 * One simulated network round trip: resolves on a later macrotask turn (the real `setImmediate`, so fake timers
 * and the TestClock never hold it back). While it is in flight, {@link TestClock.settle} keeps turning, so
 * "let the I/O-free async code finish" still means finish when that code talks to a simulated datastore (the
 * in-memory BullMQ backend answers every call this way).
 */
export function simulatedRoundTrip(): Promise<void> {
  inFlight++;
  return new Promise((resolve) =>
    realSetImmediate(() => {
      inFlight--;
      resolve();
    }),
  );
}

/** How many simulated round trips are in flight right now. */
export function simulatedRoundTripsInFlight(): number {
  return inFlight;
}
