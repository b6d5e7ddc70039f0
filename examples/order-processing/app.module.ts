import { Module, type DynamicModule } from '@nestjs/common';
import { ConfigModule, ConfigService, registerAs } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AtomicQueuesHealthModule, AtomicQueuesModule, type AtomicQueuesConfig } from '@nestjs/atomic-queues';
import { AtomicQueuesEmbeddedModule } from '@nestjs/atomic-queues/testing';
import { APP_CONFIG, APP_CONFIG_NAMESPACE, loadAppConfig, type AppConfig } from './config.js';
import { EntitiesController } from './entities/entities.controller.js';
import { LoadStepProcessor } from './entities/load-step.processor.js';
import { EntityWorkers } from './entity-workers.js';
import { HealthController } from './health.controller.js';
import { HistoryRecording } from './history-recording.js';
import { ORDER_COMMAND_HANDLERS } from './orders/handlers.js';
import { OrderStore } from './orders/order-store.js';
import { OrdersController } from './orders/orders.controller.js';
import { ORDER_JOB_PROCESSORS } from './orders/processors.js';
import { appRedisProviders, embeddedRedisProviders } from './redis.js';
import { ValidationErrorFilter } from './validation-error.filter.js';

/** The module's settings from the app's: the same for Redis and embedded (which takes no `redis`). */
const queueSettings = (config: AppConfig) => ({
  keyPrefix: config.keyPrefix,
  nodeId: config.nodeId,
  enableCronManager: true,
  cronInterval: config.cronIntervalMs,
  queueDefaults: { defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 1000 } },
});

/** `AtomicQueuesModule.forRootAsync`'s factory: the module config read from @nestjs/config's ConfigService. */
export function atomicQueuesConfigFrom(configService: ConfigService): AtomicQueuesConfig {
  const app = configService.getOrThrow<AppConfig>(APP_CONFIG_NAMESPACE);
  return { ...queueSettings(app), redis: { url: app.redisUrl } };
}

/**
 * The order-processing example: `AppModule.forRoot(loadAppConfig())`, or a config object in tests. The settings
 * are served by @nestjs/config (namespace `app` of ConfigService), where `AtomicQueuesModule.forRootAsync` reads
 * them. With `redisUrl` it runs on Redis (any number of nodes); without, embedded on the in-memory backend (one
 * process). Health probes: `/health/live` and `/health/ready` (terminus, AtomicQueuesHealthModule).
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig = loadAppConfig()): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The environment was read and checked by loadAppConfig (typed, failing fast naming the variable).
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [registerAs(APP_CONFIG_NAMESPACE, () => config)] }),
        CqrsModule.forRoot(),
        config.redisUrl
          ? AtomicQueuesModule.forRootAsync({ inject: [ConfigService], useFactory: atomicQueuesConfigFrom })
          : AtomicQueuesEmbeddedModule.forRoot(queueSettings(config)),
        AtomicQueuesHealthModule.forRoot(),
      ],
      controllers: [OrdersController, EntitiesController, HealthController],
      providers: [
        { provide: APP_CONFIG, inject: [ConfigService], useFactory: (c: ConfigService) => c.getOrThrow<AppConfig>(APP_CONFIG_NAMESPACE) },
        { provide: APP_FILTER, useClass: ValidationErrorFilter },
        ...(config.redisUrl ? appRedisProviders(config.redisUrl) : embeddedRedisProviders),
        OrderStore,
        ...ORDER_COMMAND_HANDLERS,
        ...ORDER_JOB_PROCESSORS,
        LoadStepProcessor,
        EntityWorkers,
        HistoryRecording,
      ],
    };
  }
}
