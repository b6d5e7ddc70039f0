import { Inject, Injectable, Logger } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { keys } from '../config/keys.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../ports/clock.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import { markReadyScript } from './engine.lua.js';
import type { JobWaiter } from './job-waiter.js';
import { EngineSpawns } from './spawn-context.js';

export interface EntityRef {
  entityType: string;
  entityId: string;
}

/** A live entity worker of this node, as the engine sees it. */
export interface LocalEntityWorker {
  readonly workerName: string;
  readonly queueName: string;
  readonly entity: EntityRef;
  readonly waiter: JobWaiter;
  /** Started by the dispatcher or the cron (counts against maxActiveEntitiesPerNode, released when idle). */
  readonly managed: boolean;
  /** Heartbeat TTL of the worker, ms (its lease expires as long after the last refresh). */
  readonly ttlMs: number;
}

/**
 * How work reaches entity workers, on every node, without a cron tick and without a connection per entity:
 *
 * - `jobAdded` (called by QueueManagerService after each add to an entity queue): when this node serves the
 *   entity, its worker is woken in-process; otherwise the entity is marked ready (`ready:<type>` zset, due time =
 *   the job's run time) and, when it was not ready yet, one message is published on `ready-signal`. Nodes'
 *   dispatchers take ready entities while they have free slots; the owner of an entity served elsewhere is woken
 *   through the same message.
 * - The local registry of entity workers: which queues have a worker here, how many managed slots are in use.
 */
@Injectable()
export class EngineSignals {
  private readonly logger = new Logger('AtomicQueues:Engine');
  private readonly local = new Map<string, LocalEntityWorker>();
  private managedCount = 0;
  private readonly slotListeners = new Set<() => void>();
  /** onSpawnWorker calls in progress on this node (which createWorker calls are the engine's). */
  readonly spawns = new EngineSpawns();

  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    @Inject(ATOMIC_QUEUES_CLOCK) private readonly clock: Clock,
  ) {}

  get readyChannel(): string {
    return keys.readySignal(this.config.keyPrefix);
  }

  /** Entity workers this node runs that count against `maxActiveEntitiesPerNode`. */
  get activeManaged(): number {
    return this.managedCount;
  }

  get localWorkers(): IterableIterator<LocalEntityWorker> {
    return this.local.values();
  }

  register(worker: LocalEntityWorker): void {
    const previous = this.local.get(worker.queueName);
    if (previous) this.unregister(previous);
    this.local.set(worker.queueName, worker);
    if (worker.managed) this.managedCount += 1;
  }

  unregister(worker: LocalEntityWorker): void {
    if (this.local.get(worker.queueName) !== worker) return;
    this.local.delete(worker.queueName);
    if (worker.managed) {
      this.managedCount -= 1;
      for (const listener of this.slotListeners) listener();
    }
  }

  /** Called whenever a managed slot frees. Returns the unsubscribe function. */
  onSlotFreed(listener: () => void): () => void {
    this.slotListeners.add(listener);
    return () => this.slotListeners.delete(listener);
  }

  /**
   * A job was added to the entity's queue (through the module, on this node). `delayMs` > 0 for a delayed job.
   * Never throws: a failed signal is logged; the node's poll and the cron pick the entity up later.
   */
  async jobAdded(entity: EntityRef, queueName: string, delayMs = 0): Promise<void> {
    const mine = this.local.get(queueName);
    if (mine?.waiter.isOpen) {
      mine.waiter.wake();
      return;
    }
    // Not served here, or being released/closed here: the release/close re-checks the queue after dropping the
    // heartbeat, and this ready mark brings whichever node can claim the entity once it is free.
    try {
      await this.markReady(entity, this.clock.now() + Math.max(0, delayMs));
    } catch (err) {
      this.logger.warn(`ready signal for ${entity.entityType}/${entity.entityId} failed (picked up by the next poll or cron tick): ${String(err)}`);
    }
  }

  /** Marks the entity ready at `dueAt` (ms) and signals the nodes when it was not ready by then already. */
  async markReady(entity: EntityRef, dueAt: number): Promise<boolean> {
    const marked = await markReadyScript.run<number>(
      this.redis,
      [keys.ready(this.config.keyPrefix, entity.entityType)],
      [Math.round(dueAt), entity.entityId, this.readyChannel, `${entity.entityType}:${entity.entityId}`],
    );
    return Number(marked) === 1;
  }

  /** A ready signal arrived for an entity: wake its worker if this node serves it. Returns true if it did. */
  wakeLocal(queueName: string): boolean {
    const mine = this.local.get(queueName);
    if (!mine) return false;
    mine.waiter.wake();
    return true;
  }
}
