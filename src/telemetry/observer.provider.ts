import { Logger, type Provider } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { EngineSignals } from '../engine/engine-signals.service.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { importPeerDependency } from '../peer-dependency.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { ATOMIC_QUEUES_OBSERVER, NOOP_OBSERVER, type AtomicQueuesObserver } from './observer.js';

/**
 * Binds ATOMIC_QUEUES_OBSERVER: the OpenTelemetry observer when `telemetry` is enabled (`@opentelemetry/api` is
 * imported then, and only then; missing, bootstrap fails with MissingPeerDependencyError naming the install
 * command), else the no-op observer.
 */
export const observerProvider: Provider = {
  provide: ATOMIC_QUEUES_OBSERVER,
  inject: [ATOMIC_QUEUES_CONFIG, ATOMIC_QUEUES_CLOCK, EngineSignals, IndexManagerService],
  useFactory: async (config: ResolvedAtomicQueuesConfig, clock: Clock, signals: EngineSignals, index: IndexManagerService): Promise<AtomicQueuesObserver> => {
    if (!config.telemetry.enabled) return NOOP_OBSERVER;
    const [api, { OtelObserver }] = await Promise.all([
      importPeerDependency('@opentelemetry/api', 'AtomicQueuesModule telemetry', 'OpenTelemetry spans and metrics; or set telemetry.enabled: false', () => import('@opentelemetry/api'), 'runtime'),
      import('./otel-observer.js'),
    ]);
    const logger = new Logger('AtomicQueues:Telemetry');
    return new OtelObserver(
      api,
      config.telemetry,
      config.nodeId,
      clock,
      {
        entityTypes: () => index.getEntityTypes(),
        entitiesWithBacklog: (types) => index.countEntitiesWithJobs(types),
        localEntities: function* () {
          for (const w of signals.localWorkers) yield w.entity;
        },
        readTimeoutMs: config.redis.commandTimeoutMs,
      },
      (err) => logger.warn(`reading the entity backlog for metrics failed: ${String(err)}`),
    );
  },
};
