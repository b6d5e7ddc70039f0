// Public entry point `@nestjs/atomic-queues/testing` (needs ioredis-mock; the fast-check tools are in
// `@nestjs/atomic-queues/testing/property`). Deliberately listed name by name: test/packaging/public-api.test.ts
// pins them. Internals (Lua engine, backend state, harness bookkeeping, timer helpers) stay behind relative paths.

// The testing module, its harness and its clock
export {
  AtomicQueuesEmbeddedModule,
  AtomicQueuesTestingModule,
  type AtomicQueuesTestingClock,
  type AtomicQueuesTestingConfig,
  type AtomicQueuesTestingModuleAsyncOptions,
} from './module/atomic-queues-testing.module.js';
export { AtomicQueuesInMemoryPorts } from './module/in-memory-ports.js';
export { AtomicQueuesTestHarness, type ExpectedFailure, type HarnessRunOptions } from './harness/test-harness.js';
export { AtomicQueuesHarnessError } from './harness/errors.js';
export type { PendingJob } from './harness/pending-jobs.js';
export { TestClock, type PendingTimer, type RunForegroundTimersOptions, type TestClockOptions, type TestTimerOptions } from './clock/test-clock.js';
export { MissingPeerDependencyError } from './peer-dependency.js';

// The in-memory backend and Redis mock underneath (usable on their own)
export { createInMemoryBackend, type InMemoryBackendFactory, type InMemoryBackendOptions } from './backend/create-in-memory-backend.js';
export { InMemoryQueueDriver } from './backend/in-memory-queue-driver.js';
export { InMemoryQueueStore, type InMemoryQueueStoreOptions } from './backend/in-memory-store.js';
export { InMemoryBackendUnsupportedError } from './backend/errors.js';
export type { StoredJob, StreamEvent } from './backend/queue-state.js';
export { createClockedRedisMock, type ClockedRedisMock, type ClockedRedisMockOptions } from './redis-mock/clocked-redis-mock.js';

// A real redis-server for integration tests
export { getFreePort, startRedisServer, type RedisServerHandle, type StartRedisServerOptions } from './redis-server.js';

// The shared history format, recorders and checkers
export { entityKey, type EnqueuedJob, type ExecutionOutcome, type JobExecution } from './history.js';
export {
  HistoryRecorder,
  JsonlHistoryRecorder,
  readJsonlHistory,
  type HistoryRecorderOptions,
  type ReadJsonlHistoryOptions,
} from './recorder/history-recorder.js';
export { EnqueueLog, readEnqueueLog } from './recorder/enqueue-log.js';
export { entityFromJobData, type EffectRecord, type EntityExtractor, type JobIdentity, type RecordableJobEvent } from './recorder/events.js';
export type { OpenExecutionPolicy } from './recorder/assembler.js';
export { HistoryCheckError, describeExecution, isSuccess, type AssertOptions, type CheckResult } from './checkers/common.js';
export {
  assertFifoPerEntity,
  checkFifoPerEntity,
  formatFifoResult,
  type FifoOptions,
  type FifoResult,
  type FifoStats,
  type FifoViolation,
  type FifoViolationKind,
} from './checkers/fifo.js';
export {
  assertSingleWorkerPerEntity,
  checkSingleWorkerPerEntity,
  formatSingleWorkerResult,
  type CrashedEndPolicy,
  type OverlapViolation,
  type SingleWorkerOptions,
  type SingleWorkerResult,
  type SingleWorkerStats,
} from './checkers/single-worker.js';
export {
  assertNoLostOrDuplicated,
  checkNoLostOrDuplicated,
  formatNoLostResult,
  type DuplicatedJob,
  type LostJob,
  type NoLostOptions,
  type NoLostResult,
  type NoLostStats,
  type NoLostViolation,
  type UnexpectedJob,
} from './checkers/no-lost.js';
export {
  HISTORY_CHECK_COLUMNS,
  assertHistory,
  checkHistory,
  formatHistoryCheck,
  formatHistorySummary,
  historyCheckRow,
  type HistoryCheckOptions,
  type HistoryCheckResult,
  type HistoryCheckRow,
} from './checkers/history-check.js';
