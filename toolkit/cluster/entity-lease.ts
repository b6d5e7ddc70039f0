import type { ResourceLockService } from '@nestjs/atomic-queues';

/** The ResourceLockService calls a lease needs (the service itself in the node app, a fake in unit tests). */
export type LeaseLocks = Pick<ResourceLockService, 'acquireLock' | 'extendLock' | 'releaseLock'>;

/** The lease TTL: the worker heartbeat TTL in the whole seconds ResourceLockService takes, rounded up. */
export const leaseTtlSeconds = (heartbeatTtlMs: number): number => Math.max(1, Math.ceil(heartbeatTtlMs / 1000));

export interface EntityLeaseOptions {
  locks: LeaseLocks;
  entityType: string;
  entityId: string;
  /** Unique per worker instance: a lease is never re-acquired, a new worker instance takes a new one. */
  ownerId: string;
  ownerType: string;
  /** Lock TTL, whole seconds (ResourceLockService's unit): the worker heartbeat TTL rounded up. */
  ttlSeconds: number;
  /** Extend period: the worker heartbeat interval. */
  intervalMs: number;
  /**
   * Asked before every extend: false once the worker no longer owns the entity (it is closing, or another node's
   * heartbeat holds its name). The lease then stops (lost) and the lock expires within a TTL, like the heartbeat.
   */
  stillOwner(): boolean | Promise<boolean>;
  /** Called once when the lease is lost: an extend found the lock gone, or none was confirmed for a whole TTL. */
  onLost(why: string): void;
}

/**
 * The fencing lease of ONE worker instance on its entity, following the documented pattern:
 * - taken with `acquireLock` before the worker is created (its fencing token is newer than every token issued
 *   before this worker became the owner), so a paused or cut-off former owner can never hold a newer one;
 * - extended every heartbeat interval with the owner-checked `extendLock` (a resumed zombie's timers cannot
 *   revive a lock that expired or that someone else took), only while the worker still owns the entity: a
 *   closing worker or one whose heartbeat is gone stops extending, so a stuck close cannot block a takeover;
 * - lost for good when an extend returns false or no extend was confirmed for a whole TTL (the lock has expired
 *   in Redis by then): `onLost` closes the worker, and the lease is never re-acquired;
 * - released (owner-checked) when the worker closes.
 * Every effect of the worker carries `token` through `applyIfCurrent`.
 */
export class EntityLease {
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private lostReason?: string;
  private released = false;

  private constructor(
    private readonly o: EntityLeaseOptions,
    readonly token: number,
    /** Time the last successful acquire/extend was SENT (the lock lives at least TTL from then). */
    private confirmedAt: number,
  ) {}

  /** Takes the entity's lock; undefined when another owner holds it (the caller must not create a worker). */
  static async acquire(o: EntityLeaseOptions): Promise<EntityLease | undefined> {
    const sentAt = Date.now();
    const got = await o.locks.acquireLock(o.entityType, o.entityId, o.ownerId, o.ownerType, o.ttlSeconds);
    return got.acquired ? new EntityLease(o, got.fencingToken!, sentAt) : undefined;
  }

  get lost(): boolean {
    return this.lostReason !== undefined;
  }

  /** Starts extending every `intervalMs` (call once the worker exists). */
  start(): void {
    if (this.timer || this.lost || this.released) return;
    this.timer = setInterval(() => void this.extend(), this.o.intervalMs);
    this.timer.unref();
  }

  /** Stops extending and releases the lock if this owner still holds it. */
  async release(): Promise<void> {
    this.released = true;
    this.stop();
    await this.o.locks.releaseLock(this.o.entityType, this.o.entityId, this.o.ownerId);
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async extend(): Promise<void> {
    if (this.lost) return;
    if (this.inFlight) return this.loseIfUnconfirmed('no lock extend answered');
    this.inFlight = true;
    const sentAt = Date.now();
    try {
      if (!(await this.o.stillOwner())) return this.markLost('the worker no longer owns the entity (closing, or its name is held elsewhere)');
      const held = await this.o.locks.extendLock(this.o.entityType, this.o.entityId, this.o.ownerId, this.o.ttlSeconds);
      if (held) this.confirmedAt = sentAt;
      else this.markLost('the lock expired or another owner holds it');
    } catch (err) {
      this.loseIfUnconfirmed(`lock extend failed (${String(err)})`);
    } finally {
      this.inFlight = false;
    }
  }

  private loseIfUnconfirmed(why: string): void {
    const ttlMs = this.o.ttlSeconds * 1000;
    if (Date.now() - this.confirmedAt >= ttlMs) this.markLost(`${why}: not extended for ${ttlMs} ms`);
  }

  /** The lease is lost for good (also when a write with its token was rejected: a newer owner exists). */
  markLost(why: string): void {
    if (this.lost) return;
    this.lostReason = why;
    this.stop();
    this.o.onLost(why);
  }
}
