import { Inject, Injectable, Optional } from '@nestjs/common';
import { ATOMIC_QUEUES_CONFIG, type ResolvedAtomicQueuesConfig } from '../config/atomic-queues-config.js';
import { keys } from '../config/keys.js';
import { AtomicQueuesValidationError } from '../errors.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../ports/redis.js';
import { ATOMIC_QUEUES_OBSERVER, NOOP_OBSERVER, type AtomicQueuesObserver } from '../telemetry/observer.js';
import { assertEntityPart, assertNonEmptyString, assertPositiveInteger } from '../validation.js';
import {
  acquireAvailableScript,
  acquireLockScript,
  applyIfCurrentScript,
  extendLockScript,
  releaseLockScript,
} from './lock.lua.js';

export interface LockOwner {
  ownerId: string;
  ownerType: string;
}

export interface LockInfo extends LockOwner {
  /** Fencing token issued when the current holder acquired the lock. */
  fencingToken: number;
}

export interface AcquireLockResult {
  acquired: boolean;
  /** The holder's token: present when acquired. */
  fencingToken?: number;
  /** The current holder: the caller when acquired, someone else otherwise. */
  owner?: LockOwner;
}

export interface AvailableResource {
  resourceId: string;
  fencingToken: number;
}

export type FencedWriteOp = 'set' | 'rpush' | 'incrby';
export const FENCED_WRITE_OPS: readonly FencedWriteOp[] = ['set', 'rpush', 'incrby'];

/**
 * One write an effect sink applies only while its fencing token is current. `key` is a full Redis key (not
 * prefixed); on Redis Cluster it must share the lock's hash slot (use a `{tag}` in both).
 */
export interface FencedWrite {
  key: string;
  op: FencedWriteOp;
  /** `incrby` needs an integer. */
  value: string | number;
}

export interface FencedWriteResult {
  applied: boolean;
  /** Latest token issued for the resource (0 when none ever was). */
  latestToken: number;
  /**
   * When applied: the Redis server's time (epoch ms, from TIME inside the script) at which the write took effect.
   * Unlike a clock read after the reply, a pause of the caller (GC, SIGSTOP) cannot delay it.
   */
  appliedAt?: number;
}

/** Largest TTL accepted, in seconds (~ 1 year): keeps `ttlSeconds * 1000` a safe Redis PX value. */
export const MAX_LOCK_TTL_SECONDS = 31_536_000;

/**
 * Distributed TTL locks on named resources, one Lua round trip per operation.
 *
 * Every new acquisition of a resource gets a fencing token from a per-resource counter that never expires
 * (`${keyPrefix}:lock:${type}:${id}:fence`), so tokens of a resource strictly increase across acquisitions,
 * holders and expiries. A holder that may have paused past its TTL passes its token to the store it writes
 * to: `checkFencingToken` / `applyIfCurrent` reject a token once a later one was issued (Kleppmann's fencing).
 *
 * Re-acquiring a lock you already hold (same ownerId) succeeds, resets the expiry to the new TTL and keeps
 * the same fencing token and the ownerType recorded first.
 *
 * Redis Cluster: a lock and its fence share a slot only through a `{tag}` in keyPrefix (e.g. `{aq}`); the same
 * holds for the keys of a getAvailableResource pool and for the target key of applyIfCurrent. Tokens survive
 * as long as Redis keeps the fence keys: an unpersisted Redis that restarts empty starts them again at 1.
 */
@Injectable()
export class ResourceLockService {
  constructor(
    @Inject(ATOMIC_QUEUES_REDIS) private readonly redis: RedisClient,
    @Inject(ATOMIC_QUEUES_CONFIG) private readonly config: ResolvedAtomicQueuesConfig,
    /** Telemetry: stale tokens are counted (fencing rejections). */
    @Optional() @Inject(ATOMIC_QUEUES_OBSERVER) private readonly observer: AtomicQueuesObserver = NOOP_OBSERVER,
  ) {}

  async acquireLock(resourceType: string, resourceId: string, ownerId: string, ownerType: string, ttlSeconds: number): Promise<AcquireLockResult> {
    assertResource(resourceType, resourceId);
    assertOwner(ownerId, ownerType);
    assertTtl(ttlSeconds);
    const [acquired, token, holderId, holderType] = await acquireLockScript.run<[number, number, string, string]>(
      this.redis,
      [this.lockKey(resourceType, resourceId), this.fenceKey(resourceType, resourceId)],
      [ownerId, ownerType, ttlSeconds * 1000],
    );
    const owner = { ownerId: holderId, ownerType: holderType };
    return Number(acquired) === 1 ? { acquired: true, fencingToken: Number(token), owner } : { acquired: false, owner };
  }

  /** Releases the lock; with `ownerId`, only if that owner holds it. Returns whether a lock was released. */
  async releaseLock(resourceType: string, resourceId: string, ownerId?: string): Promise<boolean> {
    assertResource(resourceType, resourceId);
    if (ownerId !== undefined) assertNonEmptyString('ownerId', ownerId);
    const n = await releaseLockScript.run<number>(this.redis, [this.lockKey(resourceType, resourceId)], [ownerId ?? '']);
    return Number(n) === 1;
  }

  /** Resets the expiry of a lock `ownerId` holds to `ttlSeconds`. Returns false if it does not hold it. */
  async extendLock(resourceType: string, resourceId: string, ownerId: string, ttlSeconds: number): Promise<boolean> {
    assertResource(resourceType, resourceId);
    assertNonEmptyString('ownerId', ownerId);
    assertTtl(ttlSeconds);
    const n = await extendLockScript.run<number>(this.redis, [this.lockKey(resourceType, resourceId)], [ownerId, ttlSeconds * 1000]);
    return Number(n) === 1;
  }

  /** The current holder and its token, or null when the resource is free. */
  async getLockOwner(resourceType: string, resourceId: string): Promise<LockInfo | null> {
    assertResource(resourceType, resourceId);
    const hash = await this.redis.hgetall(this.lockKey(resourceType, resourceId));
    if (hash.owner === undefined) return null;
    return { ownerId: hash.owner, ownerType: hash.ownerType ?? '', fencingToken: Number(hash.token) };
  }

  /**
   * Atomically locks the first resource of `resourceIds` (in order) that nobody holds — a resource the caller
   * already holds counts as taken — and returns it with its fencing token; null when all are held.
   */
  async getAvailableResource(
    resourceType: string,
    resourceIds: readonly string[],
    ownerId: string,
    ownerType: string,
    ttlSeconds = 30,
  ): Promise<AvailableResource | null> {
    assertEntityPart('resourceType', resourceType);
    if (!Array.isArray(resourceIds) || resourceIds.length === 0) {
      throw new AtomicQueuesValidationError('resourceIds', 'must be a non-empty array of resource ids', resourceIds);
    }
    resourceIds.forEach((id, i) => assertEntityPart(`resourceIds[${i}]`, id));
    assertOwner(ownerId, ownerType);
    assertTtl(ttlSeconds);
    const lockKeys = resourceIds.flatMap((id) => [this.lockKey(resourceType, id), this.fenceKey(resourceType, id)]);
    const [index, token] = await acquireAvailableScript(resourceIds.length).run<[number, number]>(this.redis, lockKeys, [
      ownerId,
      ownerType,
      ttlSeconds * 1000,
    ]);
    const i = Number(index);
    return i === 0 ? null : { resourceId: resourceIds[i - 1]!, fencingToken: Number(token) };
  }

  /** The latest fencing token issued for the resource, 0 if it was never locked. */
  async getLatestFencingToken(resourceType: string, resourceId: string): Promise<number> {
    assertResource(resourceType, resourceId);
    return Number((await this.redis.get(this.fenceKey(resourceType, resourceId))) ?? 0);
  }

  /**
   * True if `token` is still current: no later acquisition of the resource has issued a newer token. (A holder
   * whose lock expired while nobody else took it stays current: no conflicting writer can exist.)
   */
  async checkFencingToken(resourceType: string, resourceId: string, token: number): Promise<boolean> {
    assertPositiveInteger('token', token);
    const current = (await this.getLatestFencingToken(resourceType, resourceId)) === token;
    if (!current) this.observer.fencingRejected(resourceType);
    return current;
  }

  /**
   * Effect-sink helper: applies `write` atomically (same script as the check) only if `token` is current in the
   * sense of `checkFencingToken`; a stale token's write is rejected and reported with the latest token.
   */
  async applyIfCurrent(resourceType: string, resourceId: string, token: number, write: FencedWrite): Promise<FencedWriteResult> {
    assertResource(resourceType, resourceId);
    assertPositiveInteger('token', token);
    if (typeof write !== 'object' || write === null) throw new AtomicQueuesValidationError('write', 'must be an object { key, op, value }', write);
    assertNonEmptyString('write.key', write.key);
    if (!FENCED_WRITE_OPS.includes(write.op)) {
      throw new AtomicQueuesValidationError('write.op', `must be one of ${FENCED_WRITE_OPS.map((o) => `'${o}'`).join(' | ')}`, write.op);
    }
    if (write.op === 'incrby' ? !Number.isSafeInteger(write.value) : typeof write.value !== 'string' && typeof write.value !== 'number') {
      throw new AtomicQueuesValidationError('write.value', write.op === 'incrby' ? 'must be a safe integer for incrby' : 'must be a string or number', write.value);
    }
    const [applied, latest, seconds, micros] = await applyIfCurrentScript.run<[number, number, string?, string?]>(
      this.redis,
      [this.fenceKey(resourceType, resourceId), write.key],
      [token, write.op, write.value],
    );
    const latestToken = Number(latest);
    if (Number(applied) !== 1) {
      this.observer.fencingRejected(resourceType);
      return { applied: false, latestToken };
    }
    return { applied: true, latestToken, appliedAt: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
  }

  private lockKey(resourceType: string, resourceId: string): string {
    return keys.lock(this.config.keyPrefix, resourceType, resourceId);
  }

  private fenceKey(resourceType: string, resourceId: string): string {
    return keys.lockFence(this.config.keyPrefix, resourceType, resourceId);
  }
}

function assertResource(resourceType: unknown, resourceId: unknown): void {
  assertEntityPart('resourceType', resourceType);
  assertEntityPart('resourceId', resourceId);
}

function assertOwner(ownerId: unknown, ownerType: unknown): void {
  assertNonEmptyString('ownerId', ownerId);
  assertNonEmptyString('ownerType', ownerType);
}

function assertTtl(ttlSeconds: unknown): void {
  assertPositiveInteger('ttlSeconds', ttlSeconds, MAX_LOCK_TTL_SECONDS);
}
