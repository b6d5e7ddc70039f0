import { ConfigurableModuleBuilder, Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ATOMIC_QUEUES_CONFIG, resolveConfig, type AtomicQueuesConfig, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { CronManagerService } from '../cron/cron-manager.service.js';
import { EngineSignals } from '../engine/engine-signals.service.js';
import { EntityDispatcher } from '../engine/entity-dispatcher.service.js';
import { AtomicQueuesHealthService } from '../health/atomic-queues-health.service.js';
import { RedisQueueDriver } from '../drivers/redis-queue-driver.js';
import { RedisConnectionWatch } from '../drivers/redis-watch.js';
import { ATOMIC_QUEUES_ENTITY_QUEUE_STORE, RedisEntityQueueStore } from '../index/entity-queue-store.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { IndexSweeperService } from '../index/index-sweeper.service.js';
import { ResourceLockService } from '../locks/resource-lock.service.js';
import { ATOMIC_QUEUES_CLOCK, SystemClock } from '../ports/clock.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER } from '../ports/queue-driver.js';
import { ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_HEARTBEAT, ATOMIC_QUEUES_REDIS_SUBSCRIBER } from '../ports/redis.js';
import { QueueManagerService } from '../queues/queue-manager.service.js';
import { JobProcessorRegistry } from '../registry/job-processor.registry.js';
import { AtomicQueuesLifecycle } from '../shutdown/atomic-queues-lifecycle.service.js';
import { observerProvider } from '../telemetry/observer.provider.js';
import { WorkerManagerService } from '../workers/worker-manager.service.js';
import { checkedAsyncOptions, FACTORY_METHOD, type AtomicQueuesModuleAsyncOptions } from './async-options.js';
import { AtomicQueuesConnections } from './connections.js';

export type { AtomicQueuesModuleAsyncOptions, AtomicQueuesOptionsFactory } from './async-options.js';

/** The public services, exported by the module (and by the testing module, which provides the same classes). */
export const ATOMIC_QUEUES_SERVICES = [
  IndexManagerService,
  QueueManagerService,
  WorkerManagerService,
  JobProcessorRegistry,
  ResourceLockService,
  CronManagerService,
  IndexSweeperService,
  AtomicQueuesHealthService,
] as const;

/**
 * Every service provider of the module (public services + the lifecycle that starts the cron and runs the
 * graceful shutdown). They depend only on the port tokens (ATOMIC_QUEUES_ENTITY_QUEUE_STORE included) and
 * ATOMIC_QUEUES_CONFIG, so another module can reuse them with other port implementations (the testing module
 * does). Needs DiscoveryModule imported.
 */
export function atomicQueuesServiceProviders(): Provider[] {
  return [...ATOMIC_QUEUES_SERVICES, EngineSignals, EntityDispatcher, AtomicQueuesLifecycle, observerProvider];
}

/** Production port providers: SystemClock, ioredis connections from the config, BullMQ on Redis. */
function productionPortProviders(): Provider[] {
  return [
    { provide: ATOMIC_QUEUES_CLOCK, useClass: SystemClock },
    AtomicQueuesConnections,
    { provide: ATOMIC_QUEUES_REDIS, useFactory: (c: AtomicQueuesConnections) => c.redis, inject: [AtomicQueuesConnections] },
    { provide: ATOMIC_QUEUES_REDIS_SUBSCRIBER, useFactory: (c: AtomicQueuesConnections) => c.subscriber, inject: [AtomicQueuesConnections] },
    { provide: ATOMIC_QUEUES_REDIS_HEARTBEAT, useFactory: (c: AtomicQueuesConnections) => c.heartbeat, inject: [AtomicQueuesConnections] },
    { provide: RedisConnectionWatch, useFactory: (c: AtomicQueuesConnections) => c.watch, inject: [AtomicQueuesConnections] },
    {
      provide: ATOMIC_QUEUES_QUEUE_DRIVER,
      useFactory: (config: ResolvedAtomicQueuesConfig, c: AtomicQueuesConnections) => new RedisQueueDriver(config.redis, c.watch, config.nodeId),
      inject: [ATOMIC_QUEUES_CONFIG, AtomicQueuesConnections],
    },
    { provide: ATOMIC_QUEUES_ENTITY_QUEUE_STORE, useClass: RedisEntityQueueStore },
  ];
}

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<AtomicQueuesConfig>({ moduleName: 'AtomicQueues' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName(FACTORY_METHOD)
  .build();

const EXPORTS = [...ATOMIC_QUEUES_SERVICES, ATOMIC_QUEUES_CONFIG, ATOMIC_QUEUES_CLOCK, ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_SUBSCRIBER, ATOMIC_QUEUES_QUEUE_DRIVER];

/**
 * The module. `forRoot(config)` and `forRootAsync({ useFactory | useClass | useExisting, inject, imports })` come
 * from Nest's ConfigurableModuleBuilder; either way the config is validated (defaults applied) by the same
 * `resolveConfig` at bootstrap, and an invalid one throws AtomicQueuesConfigError naming the field.
 */
@Global()
@Module({})
export class AtomicQueuesModule extends ConfigurableModuleClass {
  static override forRoot(config: AtomicQueuesConfig): DynamicModule {
    return this.complete(super.forRoot(config));
  }

  static override forRootAsync(options: AtomicQueuesModuleAsyncOptions): DynamicModule {
    return this.complete(super.forRootAsync(checkedAsyncOptions(options)));
  }

  /** Adds the resolved config, the ports and the services to the builder's definition (options provider + imports). */
  private static complete(definition: DynamicModule): DynamicModule {
    return {
      ...definition,
      module: AtomicQueuesModule,
      global: true,
      imports: [DiscoveryModule, ...(definition.imports ?? [])],
      providers: [
        ...(definition.providers ?? []),
        { provide: ATOMIC_QUEUES_CONFIG, useFactory: (options: AtomicQueuesConfig) => resolveConfig(options), inject: [MODULE_OPTIONS_TOKEN] },
        ...productionPortProviders(),
        ...atomicQueuesServiceProviders(),
      ],
      exports: EXPORTS,
    };
  }
}
