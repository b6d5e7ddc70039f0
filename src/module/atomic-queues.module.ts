import {
  ConfigurableModuleBuilder,
  Global,
  Module,
  type ConfigurableModuleAsyncOptions,
  type ConfigurableModuleOptionsFactory,
  type DynamicModule,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ATOMIC_QUEUES_CONFIG, resolveConfig, type AtomicQueuesConfig, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { AtomicQueuesConfigError } from '../errors.js';
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
import { WorkerManagerService } from '../workers/worker-manager.service.js';
import { AtomicQueuesConnections } from './connections.js';

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
  return [...ATOMIC_QUEUES_SERVICES, EngineSignals, EntityDispatcher, AtomicQueuesLifecycle];
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

/** The method a `useClass` / `useExisting` options factory implements (Nest's ConfigurableModuleBuilder convention). */
const FACTORY_METHOD = 'createAtomicQueuesOptions';

/** A class given to `forRootAsync({ useClass })` or `forRootAsync({ useExisting })`. */
export type AtomicQueuesOptionsFactory = ConfigurableModuleOptionsFactory<AtomicQueuesConfig, typeof FACTORY_METHOD>;

/**
 * `forRootAsync` options, as every configurable Nest module takes them: exactly one of `useFactory` (with
 * `inject`), `useClass` or `useExisting` (a class implementing {@link AtomicQueuesOptionsFactory}), plus the
 * `imports` they need.
 */
export type AtomicQueuesModuleAsyncOptions = ConfigurableModuleAsyncOptions<AtomicQueuesConfig, typeof FACTORY_METHOD>;

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<AtomicQueuesConfig>({ moduleName: 'AtomicQueues' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName(FACTORY_METHOD)
  .build();

const EXPORTS = [...ATOMIC_QUEUES_SERVICES, ATOMIC_QUEUES_CONFIG, ATOMIC_QUEUES_CLOCK, ATOMIC_QUEUES_REDIS, ATOMIC_QUEUES_REDIS_SUBSCRIBER, ATOMIC_QUEUES_QUEUE_DRIVER];

/** Throws AtomicQueuesConfigError unless `options` names exactly one way to build the config, in a usable form. */
function checkAsyncOptions(options: AtomicQueuesModuleAsyncOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new AtomicQueuesConfigError('forRootAsync(options)', 'must be an object with useFactory, useClass or useExisting', options);
  }
  const given = (['useFactory', 'useClass', 'useExisting'] as const).filter((k) => options[k] !== undefined);
  if (given.length !== 1) {
    throw new AtomicQueuesConfigError('forRootAsync(options)', 'needs exactly one of useFactory, useClass or useExisting', given.length ? given.join(' + ') : 'none');
  }
  const [how] = given;
  const value: unknown = options[how];
  // useExisting names a provider: its class, or a string/symbol token.
  const usable = typeof value === 'function' || (how === 'useExisting' && (typeof value === 'string' || typeof value === 'symbol'));
  if (!usable) {
    const rule = how === 'useFactory' ? 'must be a function returning the config' : how === 'useClass' ? 'must be a class' : 'must be a provider token (a class, string or symbol)';
    throw new AtomicQueuesConfigError(`forRootAsync(options).${how}`, rule, value);
  }
  if (how === 'useClass' && typeof options.useClass!.prototype?.[FACTORY_METHOD] !== 'function') {
    throw new AtomicQueuesConfigError('forRootAsync(options).useClass', `must implement AtomicQueuesOptionsFactory (a ${FACTORY_METHOD}() method)`, options.useClass!.name);
  }
  if (how !== 'useFactory' && options.inject !== undefined) {
    throw new AtomicQueuesConfigError('forRootAsync(options).inject', `applies to useFactory only (${how} gets its dependencies by injection)`, options.inject);
  }
}

/** Calls the `useExisting` instance's factory method, or fails naming what was given instead. */
async function fromExisting(factory: unknown, token: unknown): Promise<AtomicQueuesConfig> {
  const method = (factory as Partial<AtomicQueuesOptionsFactory> | undefined)?.[FACTORY_METHOD];
  if (typeof method !== 'function') {
    const name = typeof token === 'function' ? token.name : String(token);
    throw new AtomicQueuesConfigError('forRootAsync(options).useExisting', `must resolve to a provider implementing AtomicQueuesOptionsFactory (a ${FACTORY_METHOD}() method)`, name);
  }
  return method.call(factory);
}

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
    checkAsyncOptions(options);
    if (options.useExisting === undefined) return this.complete(super.forRootAsync(options));
    const token = options.useExisting;
    return this.complete(super.forRootAsync({ imports: options.imports, inject: [token], useFactory: (factory: unknown) => fromExisting(factory, token) }));
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
