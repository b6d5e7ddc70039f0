/** How CronManagerService keeps workers for one entity type. */
export interface EntityTypeRegistration {
  entityType: string;
  /**
   * Workers the entity should have, given its pending job count (clamped to [0, maxWorkersPerEntity]).
   * Default: 1 for every entity with pending jobs or listed by getActiveEntityIds, else 0.
   */
  getDesiredWorkerCount?: (entityId: string, pendingJobs: number) => number | Promise<number>;
  /** Entities to keep a worker for even without pending jobs in the index. */
  getActiveEntityIds?: () => readonly string[] | Promise<readonly string[]>;
  /** Upper bound of live workers per entity. Default 1 (one worker per entity: FIFO, one job at a time). */
  maxWorkersPerEntity?: number;
  /**
   * Starts a worker for the entity (typically WorkerManagerService.createWorker). Called on one node only
   * per entity and spawn slot while the spawn claim lasts; the worker-name heartbeat claim is the final guard.
   */
  onSpawnWorker: (entityId: string) => void | Promise<void>;
  /** Called after the cron signalled an idle worker to close. May run on several nodes for the same worker. */
  onTerminateWorker?: (entityId: string, workerName: string) => void | Promise<void>;
  /**
   * How long one node's claim to spawn an entity's worker blocks other nodes, ms. Should cover the time from
   * onSpawnWorker to the worker's heartbeat. Default: the cron interval.
   */
  spawnClaimMs?: number;
}

export const ENTITY_TYPE_REGISTRATION_KEYS: readonly (keyof EntityTypeRegistration)[] = [
  'entityType',
  'getDesiredWorkerCount',
  'getActiveEntityIds',
  'maxWorkersPerEntity',
  'onSpawnWorker',
  'onTerminateWorker',
  'spawnClaimMs',
];

export interface CronEntityRef {
  entityType: string;
  entityId: string;
}

export interface CronTickError {
  entityType: string;
  entityId?: string;
  /** Where it failed: reading the index, a user callback, or a Redis call of the cron itself. */
  stage: 'getEntitiesWithJobs' | 'getActiveEntityIds' | 'getDesiredWorkerCount' | 'workers' | 'spawnClaim' | 'onSpawnWorker' | 'signalWorkerClose' | 'onTerminateWorker';
  error: Error;
}

/** What one tick did on this node. */
export interface CronTickReport {
  /** onSpawnWorker was called (and returned) for these. */
  spawned: CronEntityRef[];
  /** Close signals sent (onTerminateWorker then called when registered). */
  terminated: (CronEntityRef & { workerName: string })[];
  /** Wanted a worker but the spawn claim is held (by another node, or by a spawn of this node less than spawnClaimMs ago). */
  claimedElsewhere: CronEntityRef[];
  errors: CronTickError[];
}
