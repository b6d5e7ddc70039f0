import { Inject, Injectable, NotFoundException, type OnApplicationShutdown } from '@nestjs/common';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { InjectBullBoard, type BullBoardInstance } from '@bull-board/nestjs';
import { entityQueueName, IndexManagerService } from '@nestjs/atomic-queues';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Default of DashboardOptions.maxQueues. */
export const DASHBOARD_MAX_QUEUES = 20;

export interface DashboardOptions {
  /** The module's key prefix (BullMQ queues included). */
  keyPrefix: string;
  /** Entity queues the board shows at most at once; the least recently looked-up one makes room. */
  maxQueues: number;
}

/** The dashboard's own Redis connection (bull-board's reads never queue behind the app's commands); lazy: opened by the first look-up. */
export const DASHBOARD_REDIS = Symbol('order-processing:dashboard-redis');
export const DASHBOARD_OPTIONS = Symbol('order-processing:dashboard-options');

/**
 * bull-board for entity queues, which come and go by the thousand: none is registered up front. Looking an
 * entity up (`show`) registers its queue, read-only, and keeps at most `maxQueues` of them (the least
 * recently looked up is removed from the board and its Queue closed), so the board's cost and its queue list stay
 * small whatever the number of entities.
 *
 * Read-only because a retry from bull-board would skip the entity index and the engine's ready signal (the job
 * could wait until the entity's next job): retry with `npx atomic-queues retry-failed <type> <id>`.
 */
@Injectable()
export class EntityBoard implements OnApplicationShutdown {
  /** queueName → its Queue, in look-up order (oldest first). */
  private readonly shown = new Map<string, Queue>();

  constructor(
    @InjectBullBoard() private readonly board: BullBoardInstance,
    private readonly index: IndexManagerService,
    @Inject(DASHBOARD_REDIS) private readonly redis: Redis,
    @Inject(DASHBOARD_OPTIONS) private readonly options: DashboardOptions,
  ) {}

  private get keyPrefix(): string {
    return this.options.keyPrefix;
  }

  /** Registers the entity's queue on the board (if the entity exists) and returns the queue name. */
  async show(entityType: string, entityId: string): Promise<string> {
    const queueName = entityQueueName(entityType, entityId);
    const entity = await this.index.getQueueEntity(queueName); // validates the parts too (400 on bad ones)
    if (!this.shown.has(queueName) && (!entity || entity.entityType !== entityType || !(await this.queueExists(queueName)))) {
      throw new NotFoundException(`entity ${entityType}/${entityId} not found: no queue ${queueName} under key prefix ${this.keyPrefix}`);
    }
    // Checked again after the awaits: a concurrent look-up may have registered it meanwhile.
    const known = this.shown.get(queueName);
    if (known) {
      this.shown.delete(queueName); // most recent last
      this.shown.set(queueName, known);
      return queueName;
    }
    // skipMetasUpdate: a Queue with BullMQ's defaults would rewrite the module's trimmed event stream length.
    const queue = new Queue(queueName, { connection: this.redis, prefix: this.keyPrefix, skipMetasUpdate: true });
    this.board.addQueue(new BullMQAdapter(queue, { readOnlyMode: true, description: `entity ${entityType}/${entityId}` }));
    this.shown.set(queueName, queue);
    while (this.shown.size > this.options.maxQueues) {
      const [oldest, q] = this.shown.entries().next().value as [string, Queue];
      this.shown.delete(oldest);
      this.board.removeQueue(oldest);
      await q.close();
    }
    return queueName;
  }

  /**
   * Entities of the type known to the index, the most pending jobs first (then by id), at most `limit`: the way in
   * to an entity among thousands. One HGETALL of the type's queue index and one of its pending counts.
   */
  async entities(entityType: string, limit: number): Promise<{ total: number; entities: Array<{ entityId: string; pending: number }> }> {
    const [queues, pending] = await Promise.all([this.index.getEntityQueues(entityType), this.index.getEntitiesWithJobs(entityType)]);
    const ids = Object.keys(queues);
    const rows = ids.map((entityId) => ({ entityId, pending: pending[entityId] ?? 0 }));
    rows.sort((a, b) => b.pending - a.pending || (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
    return { total: ids.length, entities: rows.slice(0, limit) };
  }

  /** The queue was set up (BullMQ's meta key: the entity's global concurrency) or holds jobs. */
  private async queueExists(queueName: string): Promise<boolean> {
    const queue = new Queue(queueName, { connection: this.redis, prefix: this.keyPrefix, skipMetasUpdate: true });
    try {
      if ((await this.redis.exists(queue.keys.meta!)) === 1) return true;
      return Object.values(await queue.getJobCounts()).some((n) => n > 0);
    } finally {
      await queue.close();
    }
  }

  /** Queue names on the board now, least recently looked up first. */
  get queueNames(): string[] {
    return [...this.shown.keys()];
  }

  async onApplicationShutdown(): Promise<void> {
    const queues = [...this.shown.values()];
    this.shown.clear();
    await Promise.all(queues.map((q) => q.close()));
    if (this.redis.status === 'wait') this.redis.disconnect(); // never used: nothing to quit
    else await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
