/**
 * The names the module's telemetry uses, in one place (README, Operations → Telemetry lists them). Attribute keys
 * follow the OpenTelemetry messaging conventions where one exists (`messaging.*`), the module's own otherwise.
 * Prometheus exporters turn dots into underscores (`atomic_queues_jobs_completed_total{atomic_queues_entity_type=…}`).
 */
export const ATTR = {
  system: 'messaging.system',
  operation: 'messaging.operation.type',
  queue: 'messaging.destination.name',
  jobId: 'messaging.message.id',
  jobName: 'atomic_queues.job.name',
  entityType: 'atomic_queues.entity.type',
  entityId: 'atomic_queues.entity.id',
  attempt: 'atomic_queues.job.attempt',
  maxAttempts: 'atomic_queues.job.max_attempts',
  nodeId: 'atomic_queues.node.id',
  workerName: 'atomic_queues.worker.name',
  /** Attempt outcome: `completed`, `failed`, or `moved` (the processor moved the job itself, BullMQ control flow). */
  outcome: 'atomic_queues.outcome',
  /** On a failed attempt: true when another attempt follows (in place, after the backoff). */
  retry: 'atomic_queues.job.retry',
  resourceType: 'atomic_queues.resource.type',
} as const;

export const METRIC = {
  entitiesBacklog: {
    name: 'atomic_queues.entities.backlog',
    description: 'Entities with at least one pending job, per entity type (cluster-wide, read from the index at each collection)',
    unit: '{entity}',
  },
  entitiesActive: {
    name: 'atomic_queues.entities.active',
    description: 'Entity workers running on this node, per entity type',
    unit: '{entity}',
  },
  jobsCompleted: { name: 'atomic_queues.jobs.completed', description: 'Jobs completed', unit: '{job}' },
  jobsFailed: { name: 'atomic_queues.jobs.failed', description: 'Jobs failed for good (last attempt, or unrecoverable)', unit: '{job}' },
  jobsRetried: { name: 'atomic_queues.jobs.retried', description: 'Failed attempts followed by another attempt', unit: '{attempt}' },
  jobLag: { name: 'atomic_queues.job.lag', description: "Time from a job's due time (added, or its delay over) to the start of its first attempt" },
  jobDuration: { name: 'atomic_queues.job.duration', description: 'Processing time of one attempt, by outcome' },
  heartbeatLosses: { name: 'atomic_queues.heartbeat.losses', description: "Workers of this node that lost their heartbeat (and closed)", unit: '{worker}' },
  takeovers: { name: 'atomic_queues.takeovers', description: "Entities this node's lease reaper took over from a dead owner", unit: '{entity}' },
  fencingRejections: { name: 'atomic_queues.fencing.rejections', description: 'Stale fencing tokens rejected (checkFencingToken, applyIfCurrent)', unit: '{token}' },
} as const;

/** Histogram bucket bounds (seconds) of the lag and duration histograms: 5 ms to 5 min. */
export const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
