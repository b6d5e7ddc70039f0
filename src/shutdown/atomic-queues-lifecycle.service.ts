import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { CronManagerService } from '../cron/cron-manager.service.js';
import { EntityDispatcher } from '../engine/entity-dispatcher.service.js';
import { IndexManagerService } from '../index/index-manager.service.js';
import { ATOMIC_QUEUES_QUEUE_DRIVER, type QueueDriver } from '../ports/queue-driver.js';
import { QueueManagerService } from '../queues/queue-manager.service.js';
import { WorkerManagerService } from '../workers/worker-manager.service.js';

/**
 * Starts the cron on bootstrap (when enabled) and runs the graceful shutdown when the application closes
 * (`app.close()`, or SIGTERM/SIGINT with `app.enableShutdownHooks()`): stop the cron, close this node's
 * workers after their current job (bounded by `shutdownTimeoutMs`; a job cut off stays in Redis and is
 * re-run as stalled), release heartbeats, close queues and the driver's connections. The module's own
 * connections close afterwards, in `onApplicationShutdown`.
 */
@Injectable()
export class AtomicQueuesLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AtomicQueues');
  private shutdownPromise?: Promise<void>;

  constructor(
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_QUEUE_DRIVER) private readonly driver: QueueDriver,
    private readonly workers: WorkerManagerService,
    private readonly queues: QueueManagerService,
    private readonly cron: CronManagerService,
    private readonly dispatcher: EntityDispatcher,
    private readonly index: IndexManagerService,
  ) {}

  /** True from the moment the graceful shutdown begins (readiness reports the node as not ready). */
  get isShuttingDown(): boolean {
    return this.shutdownPromise !== undefined;
  }

  onApplicationBootstrap(): void {
    if (this.config.enableCronManager) this.cron.start(this.config.cronInterval);
  }

  onModuleDestroy(): Promise<void> {
    this.shutdownPromise ??= this.shutdown();
    return this.shutdownPromise;
  }

  private async shutdown(): Promise<void> {
    await this.cron.stop().catch((err) => this.logger.warn(`stopping cron: ${String(err)}`));
    await this.dispatcher.stop().catch((err) => this.logger.warn(`stopping dispatcher: ${String(err)}`));
    const clean = await this.workers.shutdown(this.config.shutdownTimeoutMs);
    await this.index.flushPendingUnindex().catch((err) => this.logger.warn(`unindexing the last completions: ${String(err)}`));
    if (!clean) this.logger.warn(`some workers were still busy after ${this.config.shutdownTimeoutMs} ms; their jobs will be re-run`);
    await this.queues.closeAll();
    await this.driver.close();
  }
}
