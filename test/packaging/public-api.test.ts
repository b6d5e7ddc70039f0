import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { declaredExports } from './export-names.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/*
 * The public API, pinned: a change to an entry point must change this list too, deliberately. `type X` names
 * exist only for TypeScript; the others are runtime values.
 */
const PUBLIC_API = [
    'ATOMIC_QUEUES_CLOCK', 'ATOMIC_QUEUES_CONFIG', 'type AcquireLockResult', 'type AddJobOptions', 'type AddedJob',
    'type AtomicQueuesConfig', 'AtomicQueuesConfigError', 'AtomicQueuesConnectionError', 'AtomicQueuesError',
    'AtomicQueuesHealthIndicator', 'AtomicQueuesHealthModule', 'type AtomicQueuesHealthOptions', 'type AtomicQueuesHealthReport',
    'AtomicQueuesHealthService', 'type AtomicQueuesIndicatorResult', 'AtomicQueuesModule',
    'type AtomicQueuesModuleAsyncOptions', 'type AtomicQueuesOptionsFactory', 'type AtomicQueuesRedisConfig', 'AtomicQueuesValidationError',
    'type AvailableResource', 'type BackoffConfig', 'type BackoffType', 'type Clock', 'type ClockTimer',
    'type ClockTimerOptions', 'type CreateWorkerOptions', 'type CreateWorkerResult', 'type CronEntityRef',
    'CronManagerService', 'type CronTickError', 'type CronTickReport', 'type DefaultJobOptionsConfig',
    'DuplicateJobProcessorError', 'type EngineConfig', 'type EntityTypeRegistration', 'type EntityWorkerInfo', 'type EntityWorkerState',
    'type FencedWrite', 'type FencedWriteOp', 'type FencedWriteResult', 'type HealthCheckName', 'type HealthCheckResult',
    'IndexManagerService', 'type IndexSweepConfig',
    'type IndexSweepError', 'type IndexSweepReport', 'IndexSweeperService', 'type JobCounts',
    'type JobHandler', 'type JobLifecycleEvent', 'type JobLifecycleListener', 'JobProcessor', 'type JobProcessorFn',
    'JobProcessorNotFoundError', 'JobProcessorRegistry', 'type JobSnapshot', 'type LockInfo', 'type LockOwner',
    'MissingPeerDependencyError', 'type QueueDefaultsConfig', 'QueueManagerService', 'type RegisteredJobProcessor',
    'type ResolvedAtomicQueuesConfig', 'type ResolvedRedisConfig', 'ResourceLockService', 'type TelemetryConfig', 'type WorkerCloseReason', 'type WorkerDefaultsConfig',
    'type WorkerEvents', 'WorkerManagerService', 'type WorkerState', 'entityQueueName', 'entityWorkerName',
];

const TESTING_API = [
    'type AssertOptions', 'AtomicQueuesEmbeddedModule', 'AtomicQueuesHarnessError', 'AtomicQueuesInMemoryPorts',
    'AtomicQueuesTestHarness', 'type AtomicQueuesTestingClock', 'type AtomicQueuesTestingConfig',
    'AtomicQueuesTestingModule', 'type AtomicQueuesTestingModuleAsyncOptions', 'type CheckResult',
    'type ClockedRedisMock', 'type ClockedRedisMockOptions', 'type CrashedEndPolicy', 'type DuplicatedJob',
    'type EffectRecord', 'EnqueueLog', 'type EnqueuedJob', 'type EntityExtractor', 'type ExecutionOutcome',
    'type ExpectedFailure', 'type FifoOptions', 'type FifoResult', 'type FifoStats', 'type FifoViolation',
    'type FifoViolationKind', 'HISTORY_CHECK_COLUMNS', 'type HarnessRunOptions', 'HistoryCheckError',
    'type HistoryCheckOptions', 'type HistoryCheckResult', 'type HistoryCheckRow', 'HistoryRecorder',
    'type HistoryRecorderOptions', 'type InMemoryBackendFactory', 'type InMemoryBackendOptions',
    'InMemoryBackendUnsupportedError', 'InMemoryQueueDriver', 'InMemoryQueueStore', 'type InMemoryQueueStoreOptions',
    'type JobExecution', 'type JobIdentity', 'JsonlHistoryRecorder', 'type LostJob', 'MissingPeerDependencyError',
    'type NoLostOptions', 'type NoLostResult', 'type NoLostStats', 'type NoLostViolation', 'type OpenExecutionPolicy',
    'type OverlapViolation', 'type PendingJob', 'type PendingTimer', 'type ReadJsonlHistoryOptions',
    'type RecordableJobEvent', 'type RedisServerHandle', 'type RunForegroundTimersOptions',
    'type SingleWorkerOptions', 'type SingleWorkerResult', 'type SingleWorkerStats', 'type StartRedisServerOptions',
    'type StoredJob', 'type StreamEvent', 'TestClock', 'type TestClockOptions', 'type TestTimerOptions',
    'type UnexpectedJob', 'assertFifoPerEntity', 'assertHistory', 'assertNoLostOrDuplicated',
    'assertSingleWorkerPerEntity', 'checkFifoPerEntity', 'checkHistory', 'checkNoLostOrDuplicated',
    'checkSingleWorkerPerEntity', 'createClockedRedisMock', 'createInMemoryBackend', 'describeExecution',
    'entityFromJobData', 'entityKey', 'formatFifoResult', 'formatHistoryCheck', 'formatHistorySummary',
    'formatNoLostResult', 'formatSingleWorkerResult', 'getFreePort', 'historyCheckRow', 'isSuccess', 'readEnqueueLog',
    'readJsonlHistory', 'startRedisServer',
];

/** `export *` of the property tools (values; their option/result types come along). */
const PROPERTY_VALUES = [
    'AtomicQueuePropertyError', 'PROPERTY_MODULE_CONFIG', 'SimulatedEngine', 'arbEntityJobStreams',
    'assertAtomicQueueGuarantees', 'atomicQueueGuaranteesProperty', 'createTestingModuleSystem', 'describeScenario',
    'runScenario',
];

const values = (names: string[]) => names.filter((n) => !n.startsWith('type ')).sort();

describe('public API of the entry points', () => {
  it('@nestjs/atomic-queues (src/index.ts)', async () => {
    expect(declaredExports(join(root, 'src/index.ts'))).toEqual(PUBLIC_API);
    expect(Object.keys(await import('@nestjs/atomic-queues')).sort()).toEqual(values(PUBLIC_API));
  });

  it('@nestjs/atomic-queues/testing (testing/index.ts)', async () => {
    expect(declaredExports(join(root, 'testing/index.ts'))).toEqual(TESTING_API);
    expect(Object.keys(await import('@nestjs/atomic-queues/testing')).sort()).toEqual(values(TESTING_API));
  });

  it('@nestjs/atomic-queues/testing/property (testing/property/index.ts)', async () => {
    expect(Object.keys(await import('@nestjs/atomic-queues/testing/property')).sort()).toEqual(PROPERTY_VALUES);
  });

  it('internals stay out of the entry points', async () => {
    const exported = new Set([...Object.keys(await import('@nestjs/atomic-queues')), ...Object.keys(await import('@nestjs/atomic-queues/testing'))]);
    for (const internal of [
      'keys', 'LuaScript', 'AtomicQueuesConnections', 'RedisQueueDriver', 'createRedisClient', 'closeRedisClient', 'backoffDelay',
      'resolveConfig', 'resolveWorkerDefaults', 'resolveJobOptions', 'assertEntity', 'assertName', 'argumentRules', 'configRules',
      'AtomicQueuesLifecycle', 'ATOMIC_QUEUES_REDIS', 'SystemClock', 'setBackgroundTimeout', 'sharedLuaScriptEngine', 'HarnessHistory',
    ]) {
      expect(exported.has(internal), internal).toBe(false);
    }
  });
});
