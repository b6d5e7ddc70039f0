/** A harness check failed (verify, runUntilIdle) or a harness call was misused. The message is the report. */
export class AtomicQueuesHarnessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AtomicQueuesHarnessError';
  }
}
