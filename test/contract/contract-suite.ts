import { afterEach, describe, expect, it } from 'vitest';
import {
  ATOMIC_QUEUES_CLOCK,
  ATOMIC_QUEUES_CONFIG,
  CronManagerService,
  IndexManagerService,
  JobProcessorRegistry,
  QueueManagerService,
  ResourceLockService,
  WorkerManagerService,
  entityWorkerName,
  type Clock,
  type JobLifecycleEvent,
  type ResolvedAtomicQueuesConfig,
  type WorkerCloseReason,
} from '@nestjs/atomic-queues';
// Internals the contract inspects (not part of the public API).
import { keys } from '../../src/config/keys.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../../src/ports/redis.js';
import type { ContractConfig, ContractWorld, MakeContractWorld } from './worlds.js';

/** Fast heartbeats so the real-Redis run stays short; the cron only ticks when a test calls tick(). */
export const CONTRACT_CONFIG: ContractConfig = {
  workerDefaults: { heartbeatTTL: 1, heartbeatInterval: 200, stalledInterval: 500, lockDuration: 2000 },
  cronInterval: 600_000,
  shutdownTimeoutMs: 5_000,
};

/**
 * One behaviour suite for both backends, with identical assertions: run against AtomicQueuesModule on Redis and
 * against AtomicQueuesTestingModule. Where the two disagree, the fake is wrong.
 */
export function defineContractSuite(name: string, makeWorld: MakeContractWorld): void {
  describe(`atomic-queues contract: ${name}`, () => {
    let world: ContractWorld | undefined;
    afterEach(async () => {
      await world?.close();
      world = undefined;
    });

    const open = async (config: Partial<ContractConfig> = {}) => {
      world = await makeWorld({ ...CONTRACT_CONFIG, ...config });
      const m = world.moduleRef;
      const workers = m.get(WorkerManagerService);
      const events: JobLifecycleEvent[] = [];
      workers.observe((e) => events.push(e));
      return {
        world,
        events,
        clock: m.get<Clock>(ATOMIC_QUEUES_CLOCK),
        config: m.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG),
        queues: m.get(QueueManagerService),
        workers,
        registry: m.get(JobProcessorRegistry),
        locks: m.get(ResourceLockService),
        index: m.get(IndexManagerService),
        cron: m.get(CronManagerService),
        redis: m.get<RedisClient>(ATOMIC_QUEUES_REDIS),
        /** `name/attempt/outcome` of every ended attempt, in order. */
        ends: () => events.filter((e) => e.phase === 'end').map((e) => `${e.job.name}/${e.attempt}/${e.outcome}`),
      };
    };

    it('runs the jobs of one entity one at a time in FIFO order, entities in parallel (@JobProcessor dispatch)', async () => {
      const t = await open();
      const log: string[] = [];
      t.registry.register('step', async (job) => {
        log.push(`${job.data.entity}:${job.data.n}:start`);
        await t.clock.sleep(50);
        log.push(`${job.data.entity}:${job.data.n}:end`);
      });
      for (const entity of ['a', 'b']) {
        for (let n = 0; n < 4; n++) await t.queues.addEntityJob('order', entity, 'step', { entity, n });
      }
      for (const entity of ['a', 'b']) {
        const queue = await t.queues.getOrCreateEntityQueue('order', entity);
        await t.workers.createWorker({ workerName: entityWorkerName('order', entity), queueName: queue.name });
      }
      await t.world.waitFor(() => log.length === 16, '8 jobs to finish');
      for (const entity of ['a', 'b']) {
        expect(log.filter((l) => l.startsWith(`${entity}:`))).toEqual([0, 1, 2, 3].flatMap((n) => [`${entity}:${n}:start`, `${entity}:${n}:end`]));
      }
      expect(log.indexOf('b:0:start')).toBeLessThan(log.indexOf('a:3:end')); // the two entities overlap in time
    });

    it('keeps one live worker per name: a second createWorker is refused while the heartbeat lives', async () => {
      const t = await open();
      const queue = await t.queues.getOrCreateEntityQueue('order', 'w1');
      const name = entityWorkerName('order', 'w1');
      const first = await t.workers.createWorker({ workerName: name, queueName: queue.name, processor: async () => undefined });
      expect(first).toMatchObject({ created: true, workerName: name, nodeId: t.config.nodeId });
      expect(await t.workers.createWorker({ workerName: name, queueName: queue.name, processor: async () => undefined })).toEqual({
        created: false,
        workerName: name,
        reason: 'alive',
        owner: t.config.nodeId,
      });
      expect(await t.workers.workerExists(name)).toBe(true);
      expect(await t.workers.getWorkerOwner(name)).toBe(t.config.nodeId);
      expect(t.workers.getLocalWorkerNames()).toEqual([name]);
      await t.world.advance(1_500); // longer than heartbeatTTL: refreshed, still alive
      expect(await t.workers.getEntityWorkers('order', 'w1')).toEqual([
        { workerName: name, state: 'running', nodeId: t.config.nodeId, updatedAt: expect.any(Number), alive: true },
      ]);
    });

    it('retries a failing job in place, after its backoff, before the next job; a final failure is stored as failed', async () => {
      const t = await open();
      const queue = await t.queues.getOrCreateEntityQueue('order', 'r1');
      const failuresLeft: Record<string, number> = { A: 2, C: Infinity };
      await t.queues.addJob(queue.name, 'A', {}, { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
      await t.queues.addJob(queue.name, 'B', {});
      await t.queues.addJob(queue.name, 'C', {}, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
      await t.queues.addJob(queue.name, 'D', {});
      await t.workers.createWorker({
        workerName: entityWorkerName('order', 'r1'),
        queueName: queue.name,
        processor: async (job) => {
          if ((failuresLeft[job.name] ?? 0) > 0) {
            failuresLeft[job.name]!--;
            throw new Error(`${job.name} failed`);
          }
        },
      });
      await t.world.waitFor(() => t.ends().length === 7, '7 attempts');
      expect(t.ends()).toEqual(['A/1/failed', 'A/2/failed', 'A/3/completed', 'B/1/completed', 'C/1/failed', 'C/2/failed', 'D/1/completed']);
      const a = t.events.filter((e) => e.job.name === 'A');
      expect(a[2]!.at - a[1]!.at).toBeGreaterThanOrEqual(200); // attempt 2 started a backoff after attempt 1 ended
      await t.world.waitFor(async () => (await t.queues.getJobCounts(queue.name)).completed === 3, 'counts to settle');
      expect(await t.queues.getJobCounts(queue.name)).toMatchObject({ waiting: 0, active: 0, completed: 3, failed: 1 });
    });

    it('holds a delayed job for its delay while later jobs pass it', async () => {
      const t = await open();
      const queue = await t.queues.getOrCreateEntityQueue('order', 'd1');
      const addedAt = t.clock.now();
      await t.queues.addJob(queue.name, 'later', {}, { delay: 300 });
      await t.queues.addJob(queue.name, 'now', {});
      await t.workers.createWorker({ workerName: entityWorkerName('order', 'd1'), queueName: queue.name, processor: async () => undefined });
      await t.world.waitFor(() => t.ends().length === 2, 'both jobs');
      expect(t.ends()).toEqual(['now/1/completed', 'later/1/completed']);
      expect(t.events.find((e) => e.job.name === 'later')!.at - addedAt).toBeGreaterThanOrEqual(300);
    });

    it('locks: exclusive, re-entrant, expiring, with strictly increasing fencing tokens', async () => {
      const t = await open();
      const a = await t.locks.acquireLock('account', 'x', 'alice', 'user', 30);
      expect(a).toMatchObject({ acquired: true, owner: { ownerId: 'alice', ownerType: 'user' } });
      const t1 = a.fencingToken!;
      expect(await t.locks.acquireLock('account', 'x', 'bob', 'user', 30)).toEqual({ acquired: false, owner: { ownerId: 'alice', ownerType: 'user' } });
      expect((await t.locks.acquireLock('account', 'x', 'alice', 'user', 30)).fencingToken).toBe(t1);
      expect(await t.locks.releaseLock('account', 'x', 'bob')).toBe(false);
      expect(await t.locks.releaseLock('account', 'x', 'alice')).toBe(true);
      const b = await t.locks.acquireLock('account', 'x', 'bob', 'user', 1);
      expect(b.fencingToken).toBeGreaterThan(t1);
      expect(await t.locks.checkFencingToken('account', 'x', t1)).toBe(false);
      expect(await t.locks.checkFencingToken('account', 'x', b.fencingToken!)).toBe(true);
      await t.world.advance(1_100); // bob's 1 s TTL runs out
      expect(await t.locks.getLockOwner('account', 'x')).toBeNull();
      const c = await t.locks.acquireLock('account', 'x', 'carol', 'user', 30);
      expect(c.fencingToken).toBeGreaterThan(b.fencingToken!);
      const key = `${t.config.keyPrefix}:fenced-effect`;
      expect(await t.locks.applyIfCurrent('account', 'x', b.fencingToken!, { key, op: 'rpush', value: 'stale' })).toEqual({ applied: false, latestToken: c.fencingToken });
      const writtenFrom = t.clock.now();
      const fresh = await t.locks.applyIfCurrent('account', 'x', c.fencingToken!, { key, op: 'rpush', value: 'fresh' });
      expect(fresh).toEqual({ applied: true, latestToken: c.fencingToken, appliedAt: expect.any(Number) });
      // the server's time of the write, on the clock of the world (Redis TIME / the test clock in memory)
      expect(fresh.appliedAt).toBeGreaterThanOrEqual(Math.floor(writtenFrom));
      expect(fresh.appliedAt).toBeLessThanOrEqual(t.clock.now());
      expect(await t.locks.getAvailableResource('account', ['x', 'y'], 'dave', 'user', 30)).toMatchObject({ resourceId: 'y' });
    });

    it('indexes pending jobs per entity until they finish, and the entity of each queue', async () => {
      const t = await open();
      for (let i = 0; i < 3; i++) await t.queues.addEntityJob('order', 'i1', 'job', { i });
      await t.queues.addEntityJob('order', 'i2', 'job', {});
      expect(await t.index.getEntitiesWithJobs('order')).toEqual({ i1: 3, i2: 1 });
      const q1 = await t.queues.getOrCreateEntityQueue('order', 'i1');
      expect(await t.queues.getQueueEntity(q1.name)).toEqual({ entityType: 'order', entityId: 'i1' });
      expect(await t.index.getEntityQueues('order')).toEqual({ i1: 'order-i1-queue', i2: 'order-i2-queue' });
      expect(await t.queues.getJobCounts(q1.name)).toMatchObject({ waiting: 3, active: 0, completed: 0 });
      await t.workers.createWorker({ workerName: entityWorkerName('order', 'i1'), queueName: q1.name, processor: async () => undefined });
      await t.world.waitFor(async () => !('i1' in (await t.index.getEntitiesWithJobs('order'))), 'i1 to be unindexed');
      expect(await t.index.getEntitiesWithJobs('order')).toEqual({ i2: 1 });
    });

    it('cron: spawns a worker for an entity with pending jobs and terminates it once idle', async () => {
      const t = await open();
      const terminated: string[] = [];
      const closed: WorkerCloseReason[] = [];
      t.cron.registerEntityType({
        entityType: 'order',
        onSpawnWorker: async (entityId) => {
          const queue = await t.queues.getOrCreateEntityQueue('order', entityId);
          await t.workers.createWorker({
            workerName: entityWorkerName('order', entityId),
            queueName: queue.name,
            processor: async () => undefined,
            events: { onClosed: (_name, reason) => void closed.push(reason) },
          });
        },
        onTerminateWorker: (entityId, workerName) => void terminated.push(`${entityId}:${workerName}`),
      });
      await t.queues.addEntityJob('order', 'c1', 'job', {});
      await t.queues.addEntityJob('order', 'c1', 'job', {});
      const first = await t.cron.tick();
      expect(first).toMatchObject({ spawned: [{ entityType: 'order', entityId: 'c1' }], terminated: [], errors: [] });
      await t.world.waitFor(async () => Object.keys(await t.index.getEntitiesWithJobs('order')).length === 0, 'c1 jobs to finish');
      const second = await t.cron.tick();
      expect(second).toMatchObject({ spawned: [], terminated: [{ entityType: 'order', entityId: 'c1', workerName: 'order-c1-worker' }], errors: [] });
      expect(terminated).toEqual(['c1:order-c1-worker']);
      await t.world.waitFor(() => closed.length === 1, 'the worker to close');
      expect(closed).toEqual(['signal']);
      expect(await t.workers.workerExists('order-c1-worker')).toBe(false);
      expect(t.workers.getLocalWorkerNames()).toEqual([]);
    });

    it('a worker that loses its heartbeat closes itself; the next job brings a replacement (dispatcher, cron as safety net)', async () => {
      const t = await open();
      const closed: string[] = [];
      let spawns = 0;
      t.cron.registerEntityType({
        entityType: 'order',
        onSpawnWorker: async (entityId) => {
          const queue = await t.queues.getOrCreateEntityQueue('order', entityId);
          const result = await t.workers.createWorker({
            workerName: entityWorkerName('order', entityId),
            queueName: queue.name,
            processor: async () => undefined,
            events: { onClosed: (name, reason) => void closed.push(`${name}:${reason}`) },
          });
          if (result.created) spawns++;
        },
        spawnClaimMs: 1,
      });
      await t.queues.addEntityJob('order', 'h1', 'first', {});
      await t.world.waitFor(() => t.ends().length === 1, 'the first job');
      await t.redis.del(keys.heartbeat(t.config.keyPrefix, 'order-h1-worker')); // e.g. expired while the node was partitioned
      await t.world.waitFor(() => closed.length === 1, 'the worker to notice');
      expect(closed).toEqual(['order-h1-worker:heartbeat-lost']);
      expect(t.workers.getLocalWorkerNames()).toEqual([]);
      await t.queues.addEntityJob('order', 'h1', 'second', {});
      // The add's ready signal brings the dispatcher; a cron tick (the safety net) finds the entity served.
      await t.world.waitFor(() => t.ends().length === 2, 'the second job');
      await t.world.advance(5); // past the previous spawn claim
      expect((await t.cron.tick()).spawned).toEqual([]);
      expect(t.ends()).toEqual(['first/1/completed', 'second/1/completed']);
      expect(spawns).toBe(2);
    });

    it('shutdown signal: the worker finishes its current job, then closes and takes no more', async () => {
      const t = await open();
      const queue = await t.queues.getOrCreateEntityQueue('order', 's1');
      const name = entityWorkerName('order', 's1');
      const closed: WorkerCloseReason[] = [];
      await t.queues.addJob(queue.name, 'long', {});
      await t.workers.createWorker({
        workerName: name,
        queueName: queue.name,
        processor: () => t.clock.sleep(300),
        events: { onClosed: (_n, reason) => void closed.push(reason) },
      });
      await t.world.waitFor(() => t.events.some((e) => e.phase === 'start'), 'the job to start');
      expect(await t.workers.signalWorkerClose(name)).toBeGreaterThanOrEqual(1);
      await t.queues.addJob(queue.name, 'after-signal', {});
      await t.world.waitFor(() => closed.length === 1, 'the worker to close');
      expect(closed).toEqual(['signal']);
      expect(t.ends()).toEqual(['long/1/completed']);
      expect(await t.workers.workerExists(name)).toBe(false);
      expect(await t.queues.getJobCounts(queue.name)).toMatchObject({ completed: 1, waiting: 1, active: 0 });
    });

    it('graceful shutdown: closing the application lets the in-flight job finish first', async () => {
      const t = await open();
      const queue = await t.queues.getOrCreateEntityQueue('order', 'g1');
      await t.queues.addJob(queue.name, 'in-flight', {});
      await t.workers.createWorker({ workerName: entityWorkerName('order', 'g1'), queueName: queue.name, processor: () => t.clock.sleep(300) });
      await t.world.waitFor(() => t.events.some((e) => e.phase === 'start'), 'the job to start');
      await t.world.close();
      world = undefined;
      expect(t.ends()).toEqual(['in-flight/1/completed']);
    });
  });
}
