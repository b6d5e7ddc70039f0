import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { AtomicQueuesModule } from '@nestjs/atomic-queues';
import { AtomicQueuesEmbeddedModule } from '@nestjs/atomic-queues/testing';
import { APP_CONFIG, loadAppConfig, type AppConfig } from './config.js';
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

/**
 * The order-processing example: `AppModule.forRoot(loadAppConfig())`, or a config object in tests. With
 * `redisUrl` it runs on Redis (any number of nodes); without, embedded on the in-memory backend (one process).
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig = loadAppConfig()): DynamicModule {
    const metrics = new ExampleMetrics();
    const moduleConfig = {
      keyPrefix: config.keyPrefix,
      nodeId: config.nodeId,
      enableCronManager: true,
      cronInterval: config.cronIntervalMs,
      queueDefaults: { defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 1000 } },
      // Spans go to the app's global OpenTelemetry SDK (none here: no-op); metrics to `GET /metrics`.
      telemetry: { meterProvider: metrics.meterProvider },
    };
    return {
      module: AppModule,
      imports: [
        CqrsModule.forRoot(),
        config.redisUrl
          ? AtomicQueuesModule.forRoot({ ...moduleConfig, redis: { url: config.redisUrl } })
          : AtomicQueuesEmbeddedModule.forRoot(moduleConfig),
      ],
      controllers: [OrdersController, EntitiesController, HealthController, MetricsController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
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
