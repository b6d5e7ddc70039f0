import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EntityLease, leaseTtlSeconds, type EntityLeaseOptions, type LeaseLocks } from '../../toolkit/cluster/entity-lease.js';

/**
 * One in-memory lock with ResourceLockService's semantics (owner-checked extend/release, a fencing counter, expiry on
 * the fake clock), so the lease's decisions are checked against what the store would answer.
 */
function fakeLocks() {
  const state = { owner: undefined as string | undefined, token: 0, fence: 0, expiresAt: 0, hang: false };
  const live = () => state.owner !== undefined && Date.now() < state.expiresAt;
  const never = new Promise<never>(() => undefined);
  const locks = {
    acquireLock: vi.fn(async (_t: string, _id: string, ownerId: string, ownerType: string, ttlSeconds: number) => {
      if (live() && state.owner !== ownerId) return { acquired: false, owner: { ownerId: state.owner!, ownerType } };
      if (!live()) Object.assign(state, { owner: ownerId, token: ++state.fence });
      state.expiresAt = Date.now() + ttlSeconds * 1000;
      return { acquired: true, fencingToken: state.token, owner: { ownerId, ownerType } };
    }),
    extendLock: vi.fn(async (_t: string, _id: string, ownerId: string, ttlSeconds: number) => {
      if (state.hang) return never;
      if (!live() || state.owner !== ownerId) return false;
      state.expiresAt = Date.now() + ttlSeconds * 1000;
      return true;
    }),
    releaseLock: vi.fn(async (_t: string, _id: string, ownerId?: string) => {
      if (!live() || (ownerId !== undefined && state.owner !== ownerId)) return false;
      state.owner = undefined;
      return true;
    }),
  } satisfies LeaseLocks;
  return { locks, state };
}

describe('EntityLease (fencing lease of one worker instance)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const options = (locks: LeaseLocks, over: Partial<EntityLeaseOptions> = {}): EntityLeaseOptions => ({
    locks,
    entityType: 'order',
    entityId: 'e-1',
    ownerId: 'node-1:1:order-e-1-worker:1',
    ownerType: 'node-1',
    ttlSeconds: 2,
    intervalMs: 500,
    stillOwner: () => true,
    onLost: vi.fn(),
    ...over,
  });

  it('rounds the heartbeat TTL up to whole seconds', () => {
    expect([leaseTtlSeconds(2000), leaseTtlSeconds(1500), leaseTtlSeconds(200)]).toEqual([2, 2, 1]);
  });

  it('is not acquired while another owner holds the lock, and takes a newer token once it expired', async () => {
    const { locks } = fakeLocks();
    const first = await EntityLease.acquire(options(locks));
    expect(first?.token).toBe(1);
    expect(await EntityLease.acquire(options(locks, { ownerId: 'node-2:2:order-e-1-worker:1' }))).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2000); // never started: not extended, expires
    expect((await EntityLease.acquire(options(locks, { ownerId: 'node-2:2:order-e-1-worker:1' })))?.token).toBe(2);
  });

  it('keeps the lock past its TTL by extending every interval while the worker owns the entity', async () => {
    const { locks } = fakeLocks();
    const onLost = vi.fn();
    const lease = (await EntityLease.acquire(options(locks, { onLost })))!;
    lease.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(locks.extendLock).toHaveBeenCalledTimes(20);
    expect(await EntityLease.acquire(options(locks, { ownerId: 'other' }))).toBeUndefined();
    expect([lease.lost, onLost.mock.calls.length]).toEqual([false, 0]);
  });

  it('is lost for good when an extend finds the lock gone (a paused holder resuming): no re-acquire, no more extends', async () => {
    const { locks } = fakeLocks();
    const onLost = vi.fn();
    const lease = (await EntityLease.acquire(options(locks, { onLost })))!;
    lease.start();
    // Another owner takes the lock after it expired, as after a SIGSTOP longer than the TTL.
    locks.extendLock.mockResolvedValueOnce(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(onLost).toHaveBeenCalledOnce();
    expect(onLost.mock.calls[0]![0]).toContain('expired or another owner holds it');
    await vi.advanceTimersByTimeAsync(5000);
    expect([locks.extendLock.mock.calls.length, locks.acquireLock.mock.calls.length, lease.lost]).toEqual([1, 1, true]);
  });

  it('stops, without extending, once the worker no longer owns the entity (closing or heartbeat gone)', async () => {
    const { locks } = fakeLocks();
    let owner = true;
    const onLost = vi.fn();
    const lease = (await EntityLease.acquire(options(locks, { onLost, stillOwner: async () => owner })))!;
    lease.start();
    await vi.advanceTimersByTimeAsync(1000);
    owner = false;
    await vi.advanceTimersByTimeAsync(500);
    expect(locks.extendLock).toHaveBeenCalledTimes(2);
    expect(onLost.mock.calls[0]![0]).toContain('no longer owns the entity');
    // The lock then expires within one TTL: a takeover gets a newer token.
    await vi.advanceTimersByTimeAsync(2000);
    expect((await EntityLease.acquire(options(locks, { ownerId: 'next' })))?.token).toBe(2);
  });

  it('is lost when no extend was answered for a whole TTL (partitioned from Redis), not before', async () => {
    const { locks, state } = fakeLocks();
    const onLost = vi.fn();
    const lease = (await EntityLease.acquire(options(locks, { onLost })))!;
    lease.start();
    await vi.advanceTimersByTimeAsync(500); // confirmed at t=500
    state.hang = true;
    await vi.advanceTimersByTimeAsync(1900); // t=2400: unconfirmed for 1900 ms
    expect(onLost).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(100); // t=2500: 2000 ms since the last confirmed extend was sent
    expect(onLost).toHaveBeenCalledOnce();
    expect(onLost.mock.calls[0]![0]).toContain('not extended for 2000 ms');
    expect(lease.lost).toBe(true);
  });

  it('releases only its own lock, and a released lease never starts extending', async () => {
    const { locks } = fakeLocks();
    const lease = (await EntityLease.acquire(options(locks)))!;
    await lease.release();
    expect(locks.releaseLock).toHaveBeenCalledWith('order', 'e-1', 'node-1:1:order-e-1-worker:1');
    lease.start();
    await vi.advanceTimersByTimeAsync(2000);
    expect(locks.extendLock).not.toHaveBeenCalled();
    expect((await EntityLease.acquire(options(locks, { ownerId: 'next' })))?.token).toBe(2);
  });
});
