/** Exit codes of `atomic-queues`. */
export const EXIT = {
  ok: 0,
  /** Redis unreachable or a command failed. */
  failure: 1,
  /** Bad arguments or options (the message names which). */
  usage: 2,
  /** The entity (or entity type) is not known under the key prefix. */
  notFound: 3,
} as const;

/** A bad argument or option: printed with the usage hint, exit code 2. */
export class CliUsageError extends Error {
  override readonly name = 'CliUsageError';
}

/** The entity or entity type does not exist under the key prefix: exit code 3. */
export class CliNotFoundError extends Error {
  override readonly name = 'CliNotFoundError';
}
