import { Module, type DynamicModule } from '@nestjs/common';
import { importPeerDependency } from '../../peer-dependency.js';
import { AtomicQueuesHealthService } from '../atomic-queues-health.service.js';
import { resolveHealthOptions, type AtomicQueuesHealthOptions } from '../health.types.js';
import { AtomicQueuesHealthIndicator, type TerminusIndicatorService } from './atomic-queues-health.indicator.js';

/** Loads @nestjs/terminus (an optional peer): MissingPeerDependencyError naming the install command when absent. */
const loadTerminus = () =>
  importPeerDependency(
    '@nestjs/terminus',
    'AtomicQueuesHealthModule',
    'the health indicator for liveness and readiness probes',
    () => import('@nestjs/terminus'),
    'runtime',
  );

/**
 * Provides {@link AtomicQueuesHealthIndicator} and re-exports terminus' `TerminusModule` (so the app's health
 * controller can inject `HealthCheckService`). Needs `AtomicQueuesModule` (or the testing module) in the app and
 * `@nestjs/terminus` installed: it is loaded only here, when the module is imported, so apps without health
 * checks never need it.
 *
 * ```ts
 * imports: [AtomicQueuesModule.forRoot(...), AtomicQueuesHealthModule.forRoot({ pingTimeoutMs: 500 })]
 * ```
 */
@Module({})
export class AtomicQueuesHealthModule {
  /** Async (Nest awaits it in `imports`): options are validated now, terminus is loaded now. */
  static async forRoot(options: AtomicQueuesHealthOptions = {}): Promise<DynamicModule> {
    const resolved = resolveHealthOptions(options);
    const { TerminusModule, HealthIndicatorService } = await loadTerminus();
    return {
      module: AtomicQueuesHealthModule,
      imports: [TerminusModule],
      providers: [
        {
          provide: AtomicQueuesHealthIndicator,
          useFactory: (indicators: TerminusIndicatorService, health: AtomicQueuesHealthService) => new AtomicQueuesHealthIndicator(indicators, health, resolved),
          inject: [HealthIndicatorService, AtomicQueuesHealthService],
        },
      ],
      exports: [AtomicQueuesHealthIndicator, TerminusModule],
    };
  }
}
