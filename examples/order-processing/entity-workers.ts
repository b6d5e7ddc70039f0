import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CronManagerService, QueueManagerService, WorkerManagerService } from '@nestjs/atomic-queues';
import { GENERIC_ENTITY_TYPES } from './entities/generic-jobs.js';
import { ORDER_ENTITY_TYPE } from './orders/steps.js';

export const APP_ENTITY_TYPES: readonly string[] = [ORDER_ENTITY_TYPE, ...GENERIC_ENTITY_TYPES];

/**
 * Lets the module's cron spawn a worker on this node for any entity with pending jobs whose worker is not
 * alive anywhere (one live worker per entity across nodes), and retire it once idle.
 */
@Injectable()
export class EntityWorkers implements OnApplicationBootstrap {
  private readonly logger = new Logger('EntityWorkers');

  constructor(
    private readonly cron: CronManagerService,
    private readonly queues: QueueManagerService,
    private readonly workers: WorkerManagerService,
  ) {}

  onApplicationBootstrap(): void {
    for (const entityType of APP_ENTITY_TYPES) {
      this.cron.registerEntityType({
        entityType,
        maxWorkersPerEntity: 1,
        onSpawnWorker: (entityId: string) => this.spawn(entityType, entityId),
      });
    }
  }

  private async spawn(entityType: string, entityId: string): Promise<void> {
    const queue = await this.queues.getOrCreateEntityQueue(entityType, entityId);
    const result = await this.workers.createWorker({ workerName: `${entityType}-${entityId}-worker`, queueName: queue.name });
    if (result.created) this.logger.debug(`worker ${result.workerName} started`);
  }
}
