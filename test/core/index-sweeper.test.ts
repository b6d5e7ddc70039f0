import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { AtomicQueuesConfig } from '../../src/config/atomic-queues-config.js';
import { entityQueueName, keys } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { RedisEntityQueueStore } from '../../src/index/entity-queue-store.js';
import { IndexSweeperService } from '../../src/index/index-sweeper.service.js';
import { deferred, makeCore, scanKeys, uniquePrefix, waitFor, type Core } from './support.js';

interface Node extends Core {
  sweeper: IndexSweeperService;
  cron: CronManagerService;
}

const opened: Node[] = [];
const rawConnections: Redis[] = [];
afterEach(async () => {
  for (const node of opened.splice(0).reverse()) {
    await node.sweeper.stop();
    await node.cron.stop();
    await node.close();
  }
  for (const c of rawConnections.splice(0)) c.disconnect();
});

/** The core services plus the sweeper (periodic sweep off: tests call sweep()) and the cron, on the test Redis. */
function makeNode(overrides: Partial<AtomicQueuesConfig> = {}, prefix = uniquePrefix('sw')): Node {
  const core = makeCore({ ...overrides, indexSweep: { interval: 0, ...overrides.indexSweep } }, prefix);
  const sweeper = new IndexSweeperService(core.config, core.clock, new RedisEntityQueueStore(core.redis, core.config), core.index, core.queues);
  const cron = new CronManagerService(core.redis, core.config, core.clock, core.index, core.workers, core.signals);
  const node = { ...core, sweeper, cron };
  opened.push(node);
  return node;
}

/** Processes every job of the queue with a plain BullMQ Worker: the module's unindex step never runs. */
async function processWithoutUnindex(node: Node, queueName: string, jobs: number): Promise<void> {
  const connection = new Redis(node.config.redis.url!, { maxRetriesPerRequest: null });
  rawConnections.push(connection);
  let done = 0;
  const all = deferred();
  const worker = new Worker(queueName, async (job: Job) => `done ${job.id}`, { connection, prefix: node.config.keyPrefix });
  worker.on('completed', () => {
    if (++done === jobs) all.resolve();
  });
  await all.promise;
  await worker.close();
}

describe('IndexSweeperService: repair', () => {
  it('a job that completed without its unindex (process killed in between) is unindexed by one sweep, and the cron stops spawning', async () => {
    const node = makeNode();
    const queueName = entityQueueName('order', 'o1');
    await node.queues.addEntityJob('order', 'o1', 'work', {});
    await node.queues.addEntityJob('order', 'o2', 'work', {}); // o2 is still waiting: must stay indexed
    await processWithoutUnindex(node, queueName, 1);
    expect((await node.queues.getJobCounts(queueName)).completed).toBe(1);
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({ o1: 1, o2: 1 }); // the lie

    const spawned: string[] = [];
    node.cron.registerEntityType({ entityType: 'order', spawnClaimMs: 1, onSpawnWorker: async (id) => void spawned.push(id) });
    await node.cron.tick();
    expect(spawned.sort()).toEqual(['o1', 'o2']); // the stale count makes the cron spawn a worker for o1

    const report = await node.sweeper.sweep();
    expect(report.errors).toEqual([]);
    expect(report.repaired).toEqual([{ entityType: 'order', entityId: 'o1', jobIds: [expect.any(String)] }]);
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({ o2: 1 });

    spawned.length = 0;
    await new Promise((r) => setTimeout(r, 5)); // the 1 ms spawn claims expire
    await node.cron.tick();
    expect(spawned).toEqual(['o2']);
    expect((await node.sweeper.sweep()).repaired).toEqual([]); // nothing left to repair
  });

  it('a job removed on completion is unindexed once it was indexed longer than missingJobGraceMs ago', async () => {
    const node = makeNode({ indexSweep: { missingJobGraceMs: 1000 } });
    await node.queues.addEntityJob('order', 'o1', 'work', {}, { removeOnComplete: true });
    await processWithoutUnindex(node, entityQueueName('order', 'o1'), 1);
    expect(await node.redis.exists(`${node.config.keyPrefix}:${entityQueueName('order', 'o1')}:completed`)).toBe(0);

    expect((await node.sweeper.sweep()).repaired).toEqual([]); // could be an add in progress: within the grace
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    expect((await node.sweeper.sweep()).repaired).toHaveLength(1);
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({});
  });

  it('an add slower than the grace indexes its job again, so a sweep in between cannot leave it unindexed', async () => {
    const node = makeNode({ indexSweep: { missingJobGraceMs: 1000 } });
    await node.queues.getOrCreateEntityQueue('order', 'o1');
    // An adder indexed its job, then stalled before queue.add (e.g. Redis slow) for longer than the grace.
    const indexed = await node.index.indexEntityJob('order', 'o1', 'slow-job');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await node.sweeper.sweep()).repaired).toEqual([{ entityType: 'order', entityId: 'o1', jobIds: ['slow-job'] }]);
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({});
    // The add completes; the adder sees it took longer than half the grace and indexes the job again.
    await (await node.queues.getOrCreateEntityQueue('order', 'o1')).add('work', {}, { jobId: 'slow-job' });
    await node.index.confirmIndexed(indexed);
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
    expect((await node.sweeper.sweep()).repaired).toEqual([]); // waiting in its queue: stays indexed
  });
});

describe('IndexSweeperService: retirement', () => {
  it('10,000 short-lived entities leave a bounded number of keys and cached Queue objects after the retention', async () => {
    const N = 10_000;
    const node = makeNode({ indexSweep: { entityRetentionMs: 1000, batchSize: 10_000 } });
    const ids = Array.from({ length: N }, (_, i) => `e${i}`);
    for (let i = 0; i < N; i += 250) {
      await Promise.all(ids.slice(i, i + 250).map((id) => node.queues.addEntityJob('session', id, 'work', { id })));
    }
    // Process every job through the module's own workers (the normal path: completion unindexes the job).
    const processed = new Set<string>();
    const pool = 50;
    for (let i = 0; i < N; i += pool) {
      await Promise.all(
        ids.slice(i, i + pool).map(async (id) => {
          const done = deferred();
          const workerName = `session-${id}-worker`;
          await node.workers.createWorker({
            workerName,
            queueName: entityQueueName('session', id),
            processor: async () => void processed.add(id),
            events: { onCompleted: () => done.resolve() },
          });
          await done.promise;
          await node.workers.closeWorker(workerName);
        }),
      );
    }
    expect(processed.size).toBe(N);
    await waitFor(async () => Object.keys(await node.index.getEntitiesWithJobs('session')).length === 0, 10_000, 'every job unindexed');
    const before = await node.keys();
    expect(before.length).toBeGreaterThan(3 * N); // per entity: queue meta, events, completed set and job, …
    expect(node.queues.openQueueNames().length).toBe(N);

    await new Promise((r) => setTimeout(r, 1100));
    const sweepStart = Date.now();
    const report = await node.sweeper.sweep();
    const sweepMs = Date.now() - sweepStart;
    expect(report.errors).toEqual([]);
    expect(report.retired).toHaveLength(N);

    const after = await node.keys();
    expect(after).toEqual([`${node.config.keyPrefix}:idx:types`]);
    expect(node.queues.openQueueNames()).toEqual([]);
    console.log(`10,000 entities: ${before.length} keys and ${N} Queue objects before retirement, ${after.length} key(s) and 0 after (one sweep: ${sweepMs} ms)`);
  }, 600_000);

  it('keeps entities with a pending job, a live worker or activity within the retention', async () => {
    const node = makeNode({ indexSweep: { entityRetentionMs: 1000 } });
    const p = node.config.keyPrefix;
    await node.queues.addEntityJob('order', 'pending', 'work', {}); // waiting, indexed
    await node.queues.getOrCreateEntityQueue('order', 'worked');
    await node.workers.createWorker({ workerName: 'worked-w', queueName: entityQueueName('order', 'worked'), entity: { entityType: 'order', entityId: 'worked' } });
    await node.queues.getOrCreateEntityQueue('order', 'idle');
    // A job added by hand (not through the module, so not indexed) still keeps its queue.
    await node.queues.getOrCreateEntityQueue('order', 'raw');
    const raw = node.driver.createQueue(entityQueueName('order', 'raw'), { prefix: p });
    await raw.add('raw', {}, { delay: 60_000 });
    await raw.close();
    await new Promise((r) => setTimeout(r, 1100));
    await node.queues.getOrCreateEntityQueue('order', 'fresh');

    const report = await node.sweeper.sweep();
    expect(report.retired.map((r) => r.entityId)).toEqual(['idle']);
    expect(Object.keys(await node.index.getEntityQueues('order')).sort()).toEqual(['fresh', 'pending', 'raw', 'worked']);
    expect(await node.queues.getJobCounts(entityQueueName('order', 'raw'))).toMatchObject({ delayed: 1 });
    expect(await node.redis.exists(`${p}:${entityQueueName('order', 'idle')}:meta`)).toBe(0);
  });

  it('deletes kept completed/failed jobs with the queue (in several steps when there are many)', async () => {
    const node = makeNode({ indexSweep: { entityRetentionMs: 1000 } });
    const p = node.config.keyPrefix;
    const queueName = entityQueueName('order', 'o1');
    for (let i = 0; i < 2500; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => node.queues.addEntityJob('order', 'o1', 'work', { n: i + j })));
    }
    await node.workers.createWorker({ workerName: 'o1-w', queueName, processor: async (job) => {
      if ((job.data as { n: number }).n % 2) throw new Error('odd');
    } });
    await waitFor(async () => Object.keys(await node.index.getEntitiesWithJobs('order')).length === 0, 60_000, 'all jobs finished');
    await node.workers.closeWorker('o1-w');
    expect(await node.queues.getJobCounts(queueName)).toMatchObject({ completed: 1250, failed: 1250 });
    await new Promise((r) => setTimeout(r, 1100));
    const report = await node.sweeper.sweep(); // 1,000 finished jobs per script call
    expect(report.retired).toEqual([{ entityType: 'order', entityId: 'o1', queueName }]);
    expect(await scanKeys(node.redis, `${p}:${queueName}*`)).toEqual([]);
  }, 120_000);
});

describe('IndexSweeperService: a job added during retirement is not lost', () => {
  it('an add through a Queue object cached before another node retired the entity re-registers the queue first', async () => {
    const prefix = uniquePrefix('sw');
    const a = makeNode({ indexSweep: { entityRetentionMs: 1000 } }, prefix);
    const b = makeNode({ indexSweep: { entityRetentionMs: 1000 } }, prefix);
    const queueName = entityQueueName('order', 'o1');
    await b.queues.addEntityJob('order', 'o1', 'first', {});
    await b.workers.createWorker({ workerName: 'w1', queueName, processor: async () => 'ok' });
    await waitFor(async () => Object.keys(await b.index.getEntitiesWithJobs('order')).length === 0, 10_000, 'first job done');
    await b.workers.closeWorker('w1');
    await new Promise((r) => setTimeout(r, 1100));

    expect((await a.sweeper.sweep()).retired).toHaveLength(1); // node A retires it; B still caches the Queue
    expect(await a.redis.exists(`${prefix}:${queueName}:meta`)).toBe(0);
    expect(b.queues.openQueueNames()).toContain(queueName);

    const added = await b.queues.addEntityJob('order', 'o1', 'second', {});
    expect(await (await b.queues.getOrCreateEntityQueue('order', 'o1')).getJobState(added.id)).toBe('waiting');
    expect(await b.index.getEntitiesWithJobs('order')).toEqual({ o1: 1 });
    expect(await a.index.getQueueEntity(queueName)).toEqual({ entityType: 'order', entityId: 'o1' });
    expect(await (await b.queues.getOrCreateEntityQueue('order', 'o1')).getGlobalConcurrency()).toBe(1);
  });

  it('an add by queue name in a process that never opened the retired queue sets it up again as an entity queue', async () => {
    const prefix = uniquePrefix('sw');
    const a = makeNode({ indexSweep: { entityRetentionMs: 1000 } }, prefix);
    const c = makeNode({}, prefix);
    const queueName = entityQueueName('order', 'x-1');
    await a.queues.getOrCreateEntityQueue('order', 'x-1');
    await a.queues.getOrCreateEntityQueue('order-o', 'z'); // a second type: 'order-o-2-queue' fits both types
    await new Promise((r) => setTimeout(r, 1100));
    expect((await a.sweeper.sweep()).retired).toHaveLength(2);
    expect(await c.index.getQueueEntity(queueName)).toEqual({ entityType: 'order', entityId: 'x-1' });
    expect(await c.index.getQueueEntity('order-o-2-queue')).toBeUndefined(); // ambiguous: never guessed
    expect(await c.index.getQueueEntity('unknown-x-queue')).toBeUndefined();

    const added = await c.queues.addJob(queueName, 'late', {});
    expect(await c.index.getEntitiesWithJobs('order')).toEqual({ 'x-1': 1 });
    const queue = await c.queues.getOrCreateEntityQueue('order', 'x-1');
    expect(await queue.getJobState(added.id)).toBe('waiting');
    expect(await queue.getGlobalConcurrency()).toBe(1);
    expect(await a.index.getEntityQueues('order')).toEqual({ 'x-1': queueName });
  });

  it('an add whose cached Queue object is closed by a sweep between its index step and queue.add still adds its job', async () => {
    const node = makeNode();
    await node.queues.addEntityJob('order', 'o1', 'first', {});
    const queueName = entityQueueName('order', 'o1');
    const indexEntityJob = node.index.indexEntityJob.bind(node.index);
    node.index.indexEntityJob = async (...args) => {
      const indexed = await indexEntityJob(...args);
      await node.queues.closeQueue(queueName); // what a sweep does to a cached Queue of a retired entity
      return indexed;
    };
    const added = await node.queues.addEntityJob('order', 'o1', 'second', {});
    expect(await (await node.queues.getOrCreateEntityQueue('order', 'o1')).getJobState(added.id)).toBe('waiting');
    expect(await node.index.getEntitiesWithJobs('order')).toEqual({ o1: 2 });
  });

  it('adds racing with sweeps on another node: every job stays in its queue, indexed, with the queue set up', async () => {
    const prefix = uniquePrefix('sw');
    const a = makeNode({ indexSweep: { entityRetentionMs: 1000, batchSize: 10 } }, prefix);
    const b = makeNode({ indexSweep: { entityRetentionMs: 1000 } }, prefix);
    const ids = Array.from({ length: 300 }, (_, i) => `r${i}`);
    await Promise.all(ids.map((id) => b.queues.getOrCreateEntityQueue('order', id)));
    await new Promise((r) => setTimeout(r, 1100));

    // Small pages: node A retires the entities a few at a time while node B adds a job to each at random moments.
    const sweeps = (async () => {
      let retired = 0;
      let examined = 0;
      while (examined < 2 * ids.length) {
        const report = await a.sweeper.sweep();
        retired += report.retired.length;
        examined += report.examined;
      }
      return retired;
    })();
    const added = await Promise.all(
      ids.map(async (id) => {
        await new Promise((r) => setTimeout(r, Math.random() * 300));
        return [id, (await b.queues.addEntityJob('order', id, 'late', {})).id] as const;
      }),
    );
    const retired = await sweeps;
    console.log(`race: ${retired} of ${ids.length} entities retired before (or while) their job was added`);
    expect(retired).toBeGreaterThan(0); // the re-registration path ran
    expect(retired).toBeLessThan(ids.length); // and so did adds that came first

    const pending = await b.index.getEntitiesWithJobs('order');
    for (const [id, jobId] of added) {
      const queue = await b.queues.getOrCreateEntityQueue('order', id);
      expect(await queue.getJobState(jobId)).toBe('waiting');
      expect(pending[id]).toBe(1);
      expect(await queue.getGlobalConcurrency()).toBe(1);
      expect(await b.index.getQueueEntity(queue.name)).toEqual({ entityType: 'order', entityId: id });
    }
  });

  it("a node's sweep closes its cached Queue objects of entities another node retired", async () => {
    const prefix = uniquePrefix('sw');
    const a = makeNode({ indexSweep: { entityRetentionMs: 1000 } }, prefix);
    const b = makeNode({ indexSweep: { entityRetentionMs: 1000 } }, prefix);
    b.queues.getOrCreateQueue('plain-queue');
    await b.queues.getOrCreateEntityQueue('order', 'o1');
    await new Promise((r) => setTimeout(r, 1100));
    expect((await a.sweeper.sweep()).retired).toHaveLength(1);
    const report = await b.sweeper.sweep();
    expect(report.closedQueues).toEqual([entityQueueName('order', 'o1')]);
    expect(b.queues.openQueueNames()).toEqual(['plain-queue']);
    expect((await b.keys()).filter((k) => !k.startsWith(`${prefix}:plain-queue:`))).toEqual([keys.indexTypes(prefix)]);
  });
});
