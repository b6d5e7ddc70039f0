/** Every Redis key/channel name the core services use, in one place. BullMQ queues use `keyPrefix` as their prefix. */
export const keys = {
  heartbeat: (prefix: string, workerName: string) => `${prefix}:workers:${workerName}`,
  shutdownChannel: (prefix: string, workerName: string) => `${prefix}:worker:${workerName}:shutdown`,
  indexJobs: (prefix: string, entityType: string) => `${prefix}:idx:${entityType}:jobs`,
  /** ZSET jobId → time (ms, Redis clock) the job was first indexed. */
  indexJobSet: (prefix: string, entityType: string, entityId: string) => `${prefix}:idx:${entityType}:jobs:${entityId}`,
  indexQueues: (prefix: string, entityType: string) => `${prefix}:idx:${entityType}:queues`,
  /** Reverse index: queueName → `${entityType}:${entityId}` (neither part may contain ':'). */
  queueEntity: (prefix: string) => `${prefix}:queue-entity`,
  indexWorkers: (prefix: string, entityType: string) => `${prefix}:idx:${entityType}:workers`,
  /** ZSET entityId → time (ms, Redis clock) of the entity's last index activity; the sweeper walks it. */
  indexTouched: (prefix: string, entityType: string) => `${prefix}:idx:${entityType}:touched`,
  /** SET of the entity types ever indexed (the sweeper's list of types). */
  indexTypes: (prefix: string) => `${prefix}:idx:types`,
  /** Prefix of every BullMQ key of a queue (`${prefix}:${queueName}:wait`, `…:${jobId}`, …). */
  queueBase: (prefix: string, queueName: string) => `${prefix}:${queueName}:`,
  /** Attempt counters of jobs retried in place (field = jobId). */
  attempts: (prefix: string, queueName: string) => `${prefix}:attempts:${queueName}`,
  /** ResourceLockService lock hash `{ owner, ownerType, token }` (PX expiry). */
  lock: (prefix: string, resourceType: string, resourceId: string) => `${prefix}:lock:${resourceType}:${resourceId}`,
  /** Fencing-token counter of a lock; never expires. */
  lockFence: (prefix: string, resourceType: string, resourceId: string) => `${prefix}:lock:${resourceType}:${resourceId}:fence`,
  /** Short claim a cron node takes before spawning worker number `slot` (0-based) of an entity (SET NX PX). */
  cronSpawnClaim: (prefix: string, entityType: string, entityId: string, slot: number) =>
    `${prefix}:cron:spawn:${entityType}:${entityId}:${slot}`,
  /** Engine: entities of a type with work to take (zset entityId → due time ms). */
  ready: (prefix: string, entityType: string) => `${prefix}:ready:${entityType}`,
  /** Engine: pub/sub channel, message `${entityType}:${entityId}` when an entity becomes ready. */
  readySignal: (prefix: string) => `${prefix}:ready-signal`,
  /** Engine: leases of live entity workers (zset `${entityType}:${entityId} ${workerName}` → expiry ms). */
  leases: (prefix: string) => `${prefix}:leases`,
  /** Engine: set when a dead owner's lease was reaped; the next owner of the queue recovers its active job. */
  orphan: (prefix: string, queueName: string) => `${prefix}:orphan:${queueName}`,
};

/** Queue name of an entity: `${entityType}-${entityId}-queue`. */
export const entityQueueName = (entityType: string, entityId: string): string => `${entityType}-${entityId}-queue`;
/** Conventional worker name of an entity: `${entityType}-${entityId}-worker`. */
export const entityWorkerName = (entityType: string, entityId: string): string => `${entityType}-${entityId}-worker`;
