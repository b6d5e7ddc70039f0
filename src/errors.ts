/** Base class of every error the module throws on purpose. */
export class AtomicQueuesError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Invalid module configuration; thrown by `resolveConfig` at bootstrap. `path` is the field, e.g. `workerDefaults.heartbeatTTL`. */
export class AtomicQueuesConfigError extends AtomicQueuesError {
  constructor(
    readonly path: string,
    readonly rule: string,
    readonly value?: unknown,
  ) {
    super(`Invalid AtomicQueuesConfig: ${path} ${rule} (got ${describeValue(value)})`);
  }
}

/** Invalid argument of a service call (entity type/id, job name, job data…); thrown before anything reaches Redis. */
export class AtomicQueuesValidationError extends AtomicQueuesError {
  constructor(
    readonly argument: string,
    readonly rule: string,
    readonly value?: unknown,
  ) {
    super(`Invalid ${argument}: ${rule} (got ${describeValue(value)})`);
  }
}

/**
 * Redis could not be reached: at bootstrap within `redis.connectTimeoutMs`, or for an add within
 * `redis.commandTimeoutMs` while the connection was down. `address` is the Redis address (`host:port`, never the
 * password); `cause` the last connection error (e.g. ECONNREFUSED), when there was one.
 */
export class AtomicQueuesConnectionError extends AtomicQueuesError {
  constructor(
    readonly address: string,
    detail: string,
    cause?: unknown,
  ) {
    super(`Redis at ${address}: ${detail}${cause instanceof Error ? `: ${cause.message}` : ''}`, cause === undefined ? undefined : { cause });
  }
}

/** Two `@JobProcessor` classes registered the same job name. */
export class DuplicateJobProcessorError extends AtomicQueuesError {
  constructor(
    readonly jobName: string,
    readonly classNames: readonly [string, string],
  ) {
    super(`Job name '${jobName}' has two @JobProcessor classes: ${classNames[0]} and ${classNames[1]}`);
  }
}

/** A job reached a worker without an explicit processor and no `@JobProcessor` handles its name. */
export class JobProcessorNotFoundError extends AtomicQueuesError {
  constructor(readonly jobName: string) {
    super(`No processor for job name '${jobName}': register a @JobProcessor('${jobName}') provider or pass a processor to createWorker`);
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object` : typeof value;
}
