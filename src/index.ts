// Public entry point `@nestjs/atomic-queues`. Deliberately small: what an app uses (module, services, decorator,
// errors, config and result types, the entity naming helpers, the clock port processors wait on). Internals
// (validation and config-resolution helpers, Lua scripts, connections, drivers, the key table) are imported by
// relative path inside the package. test/packaging/public-api.test.ts pins the exported names.

// The module
export { AtomicQueuesModule, type AtomicQueuesModuleAsyncOptions, type AtomicQueuesOptionsFactory } from './module/atomic-queues.module.js';

// Services and their types
export { QueueManagerService, type AddJobOptions, type AddedJob, type JobCounts } from './queues/queue-manager.service.js';
export { WorkerManagerService } from './workers/worker-manager.service.js';
export type {
  CreateWorkerOptions,
  CreateWorkerResult,
  EntityWorkerInfo,
  JobLifecycleEvent,
  JobLifecycleListener,
  JobSnapshot,
  WorkerCloseReason,
  WorkerEvents,
} from './workers/worker.types.js';
export { JobProcessorRegistry, type JobProcessorFn, type RegisteredJobProcessor } from './registry/job-processor.registry.js';
export { JobProcessor, type JobHandler } from './registry/job-processor.decorator.js';
export {
  ResourceLockService,
  type AcquireLockResult,
  type AvailableResource,
  type FencedWrite,
  type FencedWriteOp,
  type FencedWriteResult,
  type LockInfo,
  type LockOwner,
} from './locks/resource-lock.service.js';
export { CronManagerService } from './cron/cron-manager.service.js';
export type { CronEntityRef, CronTickError, CronTickReport, EntityTypeRegistration } from './cron/cron.types.js';
export { IndexManagerService, type EntityWorkerState, type WorkerState } from './index/index-manager.service.js';
export { IndexSweeperService, type IndexSweepError, type IndexSweepReport } from './index/index-sweeper.service.js';

// Health: the checks, and the @nestjs/terminus indicator (terminus, an optional peer, is loaded by
// AtomicQueuesHealthModule.forRoot() only)
export { AtomicQueuesHealthService } from './health/atomic-queues-health.service.js';
export type { AtomicQueuesHealthOptions, AtomicQueuesHealthReport, HealthCheckName, HealthCheckResult } from './health/health.types.js';
export { AtomicQueuesHealthIndicator, type AtomicQueuesIndicatorResult } from './health/terminus/atomic-queues-health.indicator.js';
export { AtomicQueuesHealthModule } from './health/terminus/atomic-queues-health.module.js';

// Errors
export {
  AtomicQueuesConfigError,
  AtomicQueuesConnectionError,
  AtomicQueuesError,
  AtomicQueuesValidationError,
  DuplicateJobProcessorError,
  JobProcessorNotFoundError,
} from './errors.js';
export { MissingPeerDependencyError } from './peer-dependency.js';

// Configuration
export {
  ATOMIC_QUEUES_CONFIG,
  type AtomicQueuesConfig,
  type AtomicQueuesRedisConfig,
  type BackoffConfig,
  type BackoffType,
  type DefaultJobOptionsConfig,
  type EngineConfig,
  type IndexSweepConfig,
  type QueueDefaultsConfig,
  type ResolvedAtomicQueuesConfig,
  type ResolvedRedisConfig,
  type WorkerDefaultsConfig,
} from './config/atomic-queues-config.js';
export type { TelemetryConfig } from './telemetry/telemetry-config.js';

// Names of an entity's queue and worker
export { entityQueueName, entityWorkerName } from './config/keys.js';

// The clock port: processors that wait inject ATOMIC_QUEUES_CLOCK (the TestClock in tests)
export { ATOMIC_QUEUES_CLOCK, type Clock, type ClockTimer, type ClockTimerOptions } from './ports/clock.js';
