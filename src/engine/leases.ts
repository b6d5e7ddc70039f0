import { keys } from '../config/keys.js';
import type { Clock } from '../ports/clock.js';
import type { QueueDriver } from '../ports/queue-driver.js';
import type { RedisClient } from '../ports/redis.js';
import type { EntityRef } from './engine-signals.service.js';
import { takeOrphanFlagScript } from './engine.lua.js';

/** Lease member of an entity worker: `${entityType}:${entityId} ${workerName}` (no part contains a space). */
export const leaseMember = (entity: EntityRef, workerName: string): string => `${entity.entityType}:${entity.entityId} ${workerName}`;

/** Parses a ready-signal message `${entityType}:${entityId}`; undefined when malformed. */
export function parseEntityRef(message: string): EntityRef | undefined {
  const colon = message.indexOf(':');
  if (colon <= 0 || colon === message.length - 1) return undefined;
  return { entityType: message.slice(0, colon), entityId: message.slice(colon + 1) };
}

/**
 * The leases an entity worker holds while it serves its entity (`${keyPrefix}:leases`, member
 * `leaseMember(entity, workerName)`, score = expiry). The dispatcher refreshes them with the heartbeats and reaps
 * expired ones (a dead owner). Order rule: a lease is written after the heartbeat is claimed and dropped before
 * the heartbeat is released, so a lease seen without its heartbeat always means a dead owner (takeover).
 */
export class EntityLeases {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly clock: Clock,
  ) {}

  async write(entity: EntityRef, workerName: string, ttlMs: number): Promise<void> {
    await this.redis.zadd(keys.leases(this.keyPrefix), this.clock.now() + ttlMs, leaseMember(entity, workerName));
  }

  async drop(entity: EntityRef, workerName: string): Promise<void> {
    await this.redis.zrem(keys.leases(this.keyPrefix), leaseMember(entity, workerName));
  }

  /**
   * The entity's previous owner died (its lease was reaped and its queue flagged): its active job still holds a
   * BullMQ lock for up to `lockDuration`. The new owner drops that lock and hands the job to BullMQ's stalled
   * recovery, so the job is re-run first. Returns the flagging (dead) worker and the jobs recovered, or undefined.
   */
  async recoverOrphans(queueName: string, driver: QueueDriver): Promise<{ deadWorker: string; recovered: number } | undefined> {
    const flagged = await takeOrphanFlagScript.run<string | null>(this.redis, [keys.orphan(this.keyPrefix, queueName)]);
    if (!flagged || !driver.recoverOrphanedJobs) return undefined;
    return { deadWorker: flagged, recovered: await driver.recoverOrphanedJobs(queueName, this.keyPrefix) };
  }
}
