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
import { ExampleMetrics, MetricsController, metricsProviders } from './metrics.js';
import { ORDER_COMMAND_HANDLERS } from './orders/handlers.js';
import { OrderStore } from './orders/order-store.js';
import { OrdersController } from './orders/orders.controller.js';
import { ORDER_JOB_PROCESSORS } from './orders/processors.js';
import { appRedisProviders, embeddedRedisProviders } from './redis.js';
import { ValidationErrorFilter } from './validation-error.filter.js';

/** The module's settings from the app's: the same for Redis and embedded (which takes no `redis`). */
const queueSettings = (config: AppConfig, metrics: ExampleMetrics) => ({
  keyPrefix: config.keyPrefix,
  nodeId: config.nodeId,
  enableCronManager: true,
  cronInterval: config.cronIntervalMs,
  queueDefaults: { defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 1000 } },
  // Spans go to the app's global OpenTelemetry SDK (none here: no-op); metrics to `GET /metrics`.
  telemetry: { meterProvider: metrics.meterProvider },
});

/** `AtomicQueuesModule.forRootAsync`'s factory: the module config read from @nestjs/config's ConfigService. */
export function atomicQueuesConfigFrom(configService: ConfigService, metrics: ExampleMetrics): AtomicQueuesConfig {
  const app = configService.getOrThrow<AppConfig>(APP_CONFIG_NAMESPACE);
  return { ...queueSettings(app, metrics), redis: { url: app.redisUrl } };
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
    const metrics = new ExampleMetrics();
    return {
      module: AppModule,
      imports: [
        // The environment was read and checked by loadAppConfig (typed, failing fast naming the variable).
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [registerAs(APP_CONFIG_NAMESPACE, () => config)] }),
        CqrsModule.forRoot(),
        config.redisUrl
          ? AtomicQueuesModule.forRootAsync({ inject: [ConfigService], useFactory: (c: ConfigService) => atomicQueuesConfigFrom(c, metrics) })
          : AtomicQueuesEmbeddedModule.forRoot(queueSettings(config, metrics)),
        AtomicQueuesHealthModule.forRoot(),
      ],
      controllers: [OrdersController, EntitiesController, HealthController, MetricsController],
      providers: [
        { provide: APP_CONFIG, inject: [ConfigService], useFactory: (c: ConfigService) => c.getOrThrow<AppConfig>(APP_CONFIG_NAMESPACE) },
        ...metricsProviders(metrics),
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
