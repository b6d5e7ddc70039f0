import type { JobsOptions } from 'bullmq';
import { resolveJobOptions, type DefaultJobOptionsConfig } from './atomic-queues-config.js';
import { checkKeys, fail, integer, nonEmptyString, objectAt } from './rules.js';

/** Options shared with `queueDefaults.defaultJobOptions` (one rule set: resolveJobOptions). */
const DEFAULTABLE = ['removeOnComplete', 'removeOnFail', 'attempts', 'backoff', 'priority'] as const;

/** BullMQ options addJob passes on after checking them. */
const ACCEPTED = [
  ...DEFAULTABLE,
  'delay', 'jobId', 'timestamp', 'lifo', 'keepLogs', 'stackTraceLimit', 'sizeLimit', 'telemetry',
  'deduplication', 'parent', 'failParentOnFailure', 'continueParentOnFailure', 'ignoreDependencyOnFailure', 'removeDependencyOnFailure',
] as const;

/** BullMQ options addJob never takes, with the reason. */
const REFUSED: Readonly<Record<string, string>> = {
  repeat: 'is not supported by addJob (BullMQ 6 schedules repeating jobs with Queue.upsertJobScheduler)',
  prevMillis: 'is internal to BullMQ job schedulers and not accepted by addJob',
  repeatJobKey: 'is internal to BullMQ job schedulers and not accepted by addJob',
};

const PARENT_FLAGS = ['failParentOnFailure', 'continueParentOnFailure', 'ignoreDependencyOnFailure', 'removeDependencyOnFailure'] as const;

/**
 * Options that break what an entity queue guarantees (its jobs run one at a time in FIFO order, every job
 * counted by the entity index until it finishes), with the reason.
 */
const REFUSED_ON_ENTITY_QUEUES: Readonly<Record<string, string>> = {
  lifo: "is not allowed on an entity queue: it runs the job before the entity's earlier jobs (per-entity FIFO)",
  parent: "is not allowed on an entity queue: a flow's parent waits for its children outside the entity's FIFO order",
  deduplication:
    'is not allowed on an entity queue: a deduplicated add adds no job while the entity index counts one; give opts.jobId for idempotent adds (a repeated jobId is added and counted once)',
  ...Object.fromEntries(PARENT_FLAGS.map((k) => [k, 'is not allowed on an entity queue (it only applies with opts.parent, which entity queues refuse)'])),
};

function bool(path: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return fail(path, 'must be true or false', value);
}

/**
 * Validates the per-call options of addJob / addEntityJob (any queue). `path` prefixes error paths ('opts').
 * Throws AtomicQueuesConfigError naming the option; the caller reports it as an argument error.
 */
export function resolveAddJobOptions(path: string, value: unknown): JobsOptions {
  const obj = objectAt(path, value) ?? {};
  for (const key of Object.keys(obj)) if (key in REFUSED && obj[key] !== undefined) fail(`${path}.${key}`, REFUSED[key]!, obj[key]);
  checkKeys(path, obj, ACCEPTED);
  const shared = Object.fromEntries(DEFAULTABLE.filter((k) => obj[k] !== undefined).map((k) => [k, obj[k]]));
  const out: JobsOptions = { ...resolveJobOptions(path, shared) };
  if (obj.delay !== undefined) out.delay = integer(`${path}.delay`, obj.delay, 0);
  if (obj.jobId !== undefined) out.jobId = nonEmptyString(`${path}.jobId`, obj.jobId);
  if (obj.timestamp !== undefined) out.timestamp = integer(`${path}.timestamp`, obj.timestamp, 0);
  if (obj.lifo !== undefined) out.lifo = bool(`${path}.lifo`, obj.lifo)!;
  if (obj.keepLogs !== undefined) out.keepLogs = integer(`${path}.keepLogs`, obj.keepLogs, 0);
  if (obj.stackTraceLimit !== undefined) out.stackTraceLimit = integer(`${path}.stackTraceLimit`, obj.stackTraceLimit, 0);
  if (obj.sizeLimit !== undefined) out.sizeLimit = integer(`${path}.sizeLimit`, obj.sizeLimit, 1);
  if (obj.telemetry !== undefined) {
    const t = objectAt(`${path}.telemetry`, obj.telemetry)!;
    checkKeys(`${path}.telemetry`, t, ['metadata', 'omitContext']);
    if (t.metadata !== undefined && typeof t.metadata !== 'string') fail(`${path}.telemetry.metadata`, 'must be a string', t.metadata);
    bool(`${path}.telemetry.omitContext`, t.omitContext);
    out.telemetry = obj.telemetry as JobsOptions['telemetry'];
  }
  if (obj.deduplication !== undefined) {
    const d = objectAt(`${path}.deduplication`, obj.deduplication)!;
    checkKeys(`${path}.deduplication`, d, ['id', 'ttl', 'extend', 'replace', 'reschedule', 'keepLastIfActive']);
    nonEmptyString(`${path}.deduplication.id`, d.id);
    if (d.ttl !== undefined) integer(`${path}.deduplication.ttl`, d.ttl, 1);
    for (const k of ['extend', 'replace', 'reschedule', 'keepLastIfActive']) bool(`${path}.deduplication.${k}`, d[k]);
    out.deduplication = obj.deduplication as JobsOptions['deduplication'];
  }
  if (obj.parent !== undefined) {
    const p = objectAt(`${path}.parent`, obj.parent)!;
    checkKeys(`${path}.parent`, p, ['id', 'queue']);
    out.parent = { id: nonEmptyString(`${path}.parent.id`, p.id), queue: nonEmptyString(`${path}.parent.queue`, p.queue) };
  }
  for (const k of PARENT_FLAGS) {
    const flag = bool(`${path}.${k}`, obj[k]);
    if (flag !== undefined) out[k] = flag;
  }
  return out;
}

/**
 * The per-call options an entity queue cannot honour (see REFUSED_ON_ENTITY_QUEUES), and a priority other than
 * the module's default one: BullMQ runs unprioritized jobs (priority 0) before prioritized ones and lower values
 * first, so mixed priorities reorder the entity's jobs, while one priority for every job keeps them in order.
 */
export function assertEntityJobOptions(path: string, options: JobsOptions, defaults: Readonly<DefaultJobOptionsConfig>): void {
  for (const [key, why] of Object.entries(REFUSED_ON_ENTITY_QUEUES)) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && value !== false) fail(`${path}.${key}`, why, value);
  }
  const base = defaults.priority ?? 0;
  if (options.priority !== undefined && options.priority !== base) {
    fail(
      `${path}.priority`,
      `must be ${base} (queueDefaults.defaultJobOptions.priority) on an entity queue: BullMQ runs unprioritized jobs before prioritized ones and lower values first, so another priority would reorder the entity's jobs`,
      options.priority,
    );
  }
}
