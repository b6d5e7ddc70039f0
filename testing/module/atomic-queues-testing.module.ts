import { ConfigurableModuleBuilder, Global, Module, type ConfigurableModuleAsyncOptions, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import {
  ATOMIC_QUEUES_CONFIG,
  resolveConfig,
  type AtomicQueuesConfig,
  type ResolvedAtomicQueuesConfig,
} from '../../src/config/atomic-queues-config.js';
import { AtomicQueuesConfigError } from '../../src/errors.js';
import { ATOMIC_QUEUES_SERVICES, atomicQueuesServiceProviders } from '../../src/module/atomic-queues.module.js';
import { checkedAsyncOptions, FACTORY_METHOD } from '../../src/module/async-options.js';
import { ATOMIC_QUEUES_CLOCK, SystemClock, type Clock } from '../../src/ports/clock.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER } from '../../src/ports/queue-driver.js';
import { ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_SUBSCRIBER } from '../../src/ports/redis.js';
import { TestClock } from '../clock/test-clock.js';
import { AtomicQueuesTestHarness } from '../harness/test-harness.js';
import { ATOMIC_QUEUES_ENTITY_QUEUE_STORE } from '../../src/index/entity-queue-store.js';
import { InMemoryEntityQueueStore } from './in-memory-entity-queue-store.js';
import { AtomicQueuesInMemoryPorts } from './in-memory-ports.js';

/**
 * Which clock drives the module: `'test'` (default) a fresh {@link TestClock} (time moves only when the test
 * advances it), `'system'` the wall clock (embedded demos), or a Clock instance (e.g. a TestClock shared by
 * several modules).
 * A TestClock drives every timer of the module (heartbeats, cron, backoffs, BullMQ delays and locks in the store).
 */
export type AtomicQueuesTestingClock = 'test' | 'system' | Clock;
export const TESTING_CLOCK_CHOICES = ["'test'", "'system'", 'a Clock instance (e.g. new TestClock())'] as const;

/** The production configuration minus `redis`, plus the clock choice. */
export type AtomicQueuesTestingConfig = Omit<AtomicQueuesConfig, 'redis'> & { clock?: AtomicQueuesTestingClock };

/**
 * `forRootAsync` options, as for AtomicQueuesModule: exactly one of `useFactory` (+ `inject`), `useClass` or
 * `useExisting` (a class with `createAtomicQueuesOptions()` returning the testing config), plus `imports`.
 */
export type AtomicQueuesTestingModuleAsyncOptions = ConfigurableModuleAsyncOptions<AtomicQueuesTestingConfig, typeof FACTORY_METHOD>;

/** What `resolveConfig` receives for `redis`: never connected to (the ports are in memory). */
export const IN_MEMORY_REDIS_PLACEHOLDER = Object.freeze({ host: 'atomic-queues.in-memory.invalid' });

/** Token of the validated testing config and clock choice. */
const TESTING_RESOLVED = Symbol.for('@nestjs/atomic-queues:testing-resolved');
type ResolvedTesting = ReturnType<typeof resolveTestingConfig>;

const isClock = (v: unknown): v is Clock =>
  typeof v === 'object' && v !== null && ['now', 'setTimeout', 'setInterval', 'clear', 'sleep'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function');

/** Validates like the production module (same errors, same defaults); `redis` is refused, `clock` checked. */
export function resolveTestingConfig(input: AtomicQueuesTestingConfig = {}): { config: ResolvedAtomicQueuesConfig; clock: AtomicQueuesTestingClock } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new AtomicQueuesConfigError('(config)', 'must be an object (or omitted) for AtomicQueuesTestingModule', input);
  }
  const { clock = 'test', ...rest } = input as AtomicQueuesTestingConfig & { redis?: unknown };
  if ('redis' in rest) {
    throw new AtomicQueuesConfigError('redis', 'is not accepted by AtomicQueuesTestingModule: it runs on an in-memory backend and never connects to Redis; remove it', '[redis settings]');
  }
  if (clock !== 'test' && clock !== 'system' && !isClock(clock)) {
    throw new AtomicQueuesConfigError('clock', `must be one of ${TESTING_CLOCK_CHOICES.join(', ')}`, clock);
  }
  return { config: resolveConfig({ ...rest, redis: { ...IN_MEMORY_REDIS_PLACEHOLDER } } as AtomicQueuesConfig), clock };
}

function clockFrom(choice: AtomicQueuesTestingClock): Clock {
  if (choice === 'test') return new TestClock();
  if (choice === 'system') return new SystemClock();
  return choice;
}

/** In-memory port providers: the chosen clock, ioredis-mock on it, BullMQ over the in-memory backend. */
function inMemoryPortProviders(): Provider[] {
  return [
    { provide: ATOMIC_QUEUES_CLOCK, useFactory: (r: ResolvedTesting) => clockFrom(r.clock), inject: [TESTING_RESOLVED] },
    {
      // `moduleRef.get(TestClock)`: the module's clock when it is a TestClock (undefined otherwise).
      provide: TestClock,
      useFactory: (clock: Clock) => (clock instanceof TestClock ? clock : undefined),
      inject: [ATOMIC_QUEUES_CLOCK],
    },
    AtomicQueuesInMemoryPorts,
    { provide: ATOMIC_QUEUES_REDIS, useFactory: (p: AtomicQueuesInMemoryPorts) => p.redis.client, inject: [AtomicQueuesInMemoryPorts] },
    { provide: ATOMIC_QUEUES_REDIS_SUBSCRIBER, useFactory: (p: AtomicQueuesInMemoryPorts) => p.redis.subscriber, inject: [AtomicQueuesInMemoryPorts] },
    { provide: ATOMIC_QUEUES_QUEUE_DRIVER, useFactory: (p: AtomicQueuesInMemoryPorts) => p.driver, inject: [AtomicQueuesInMemoryPorts] },
    {
      provide: ATOMIC_QUEUES_ENTITY_QUEUE_STORE,
      useFactory: (p: AtomicQueuesInMemoryPorts, r: ResolvedTesting) => new InMemoryEntityQueueStore(p.store, r.config.keyPrefix),
      inject: [AtomicQueuesInMemoryPorts, TESTING_RESOLVED],
    },
  ];
}

const EXPORTS = [
  ...ATOMIC_QUEUES_SERVICES,
  ATOMIC_QUEUES_CONFIG,
  ATOMIC_QUEUES_CLOCK,
  ATOMIC_QUEUES_REDIS,
  ATOMIC_QUEUES_REDIS_SUBSCRIBER,
  ATOMIC_QUEUES_QUEUE_DRIVER,
  TestClock,
  AtomicQueuesInMemoryPorts,
  AtomicQueuesTestHarness,
];

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<AtomicQueuesTestingConfig>({ moduleName: 'AtomicQueuesTesting' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName(FACTORY_METHOD)
  .build();

/**
 * Drop-in replacement of `AtomicQueuesModule` for tests: the SAME service classes (QueueManagerService,
 * WorkerManagerService, JobProcessorRegistry, ResourceLockService, CronManagerService, IndexManagerService,
 * IndexSweeperService, AtomicQueuesHealthService and the lifecycle) on in-memory ports, plus `TestClock` and
 * `AtomicQueuesTestHarness`. Accepts the production config minus `redis`, validated by the same `resolveConfig` at
 * bootstrap; `forRoot` / `forRootAsync` are built with Nest's ConfigurableModuleBuilder, like the production
 * module's. Opens no network connection.
 */
@Global()
@Module({})
export class AtomicQueuesTestingModule extends ConfigurableModuleClass {
  /** `options.harness: false` leaves out AtomicQueuesTestHarness (which keeps every job's history in memory). */
  static override forRoot(config: AtomicQueuesTestingConfig = {}, options: { harness?: boolean } = {}): DynamicModule {
    return this.complete(super.forRoot(config), options.harness ?? true);
  }

  static override forRootAsync(options: AtomicQueuesTestingModuleAsyncOptions): DynamicModule {
    return this.complete(super.forRootAsync(checkedAsyncOptions(options)), true);
  }

  /** Adds the validated config, the in-memory ports and the services to the builder's definition. */
  private static complete(definition: DynamicModule, harness: boolean): DynamicModule {
    return {
      ...definition,
      module: AtomicQueuesTestingModule,
      global: true,
      imports: [DiscoveryModule, ...(definition.imports ?? [])],
      providers: [
        ...(definition.providers ?? []),
        { provide: TESTING_RESOLVED, useFactory: (config: AtomicQueuesTestingConfig) => resolveTestingConfig(config), inject: [MODULE_OPTIONS_TOKEN] },
        { provide: ATOMIC_QUEUES_CONFIG, useFactory: (r: ResolvedTesting) => r.config, inject: [TESTING_RESOLVED] },
        ...inMemoryPortProviders(),
        ...atomicQueuesServiceProviders(),
        ...(harness ? [AtomicQueuesTestHarness] : []),
      ],
      exports: harness ? EXPORTS : EXPORTS.filter((token) => token !== AtomicQueuesTestHarness),
    };
  }
}

/**
 * The module's in-memory engine on the wall clock, for demos and local runs without Redis (one process only:
 * nothing is shared between processes). Same as `AtomicQueuesTestingModule.forRoot({ ...config, clock: 'system' }, { harness: false })`.
 */
export class AtomicQueuesEmbeddedModule {
  static forRoot(config: Omit<AtomicQueuesTestingConfig, 'clock'> = {}): DynamicModule {
    return AtomicQueuesTestingModule.forRoot({ ...config, clock: 'system' }, { harness: false });
  }
}
