import { WaitingError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import type { JobLifecycleEvent } from '../../src/workers/worker.types.js';
import { startRedisServer } from '../../testing/redis-server.js';
import { deferred, makeCore, uniquePrefix, waitFor, type Core } from './support.js';

const cores: Core[] = [];
const core = (...args: Parameters<typeof makeCore>) => {
  const c = makeCore(...args);
  cores.push(c);
  return c;
};
afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.close()));
});

/**
 * Starts worker `w` on `node` with a short lock and stall check (another node recovers its job quickly); once the
 * processor was entered, the node "dies": told to close, it gives up after `waitMs` with the job still active.
 */
async function dieMidJob(node: Core, queueName: string, body: () => Promise<void>, waitMs: number): Promise<void> {
  const entered = deferred();
  await node.workers.createWorker({
    workerName: 'w',
    queueName,
    processor: async () => {
      entered.resolve();
      await body();
    },
    config: { lockDuration: 1000, stalledInterval: 300 },
  });
  await entered.promise;
  await node.workers.signalNodeWorkersClose();
  expect(await node.workers.waitForWorkersToClose(waitMs)).toBe(false);
}

describe('WorkerManagerService: processing', () => {
  it('runs 100 jobs of one entity one at a time in FIFO order and reports every attempt to observers', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    for (let i = 0; i < 100; i++) await c.queues.addJob(q.name, 'step', { i });
    expect(await c.index.getEntitiesWithJobs('order')).toEqual({ o1: 100 });
    const seen: number[] = [];
    const events: JobLifecycleEvent[] = [];
    const unobserve = c.workers.observe((e) => events.push(e));
    let active = 0;
    let maxActive = 0;
    const completed: string[] = [];
    const ready: string[] = [];
    const res = await c.workers.createWorker({
      workerName: 'order-o1-worker',
      queueName: q.name,
      processor: async (job: Job<{ i: number }>) => {
        maxActive = Math.max(maxActive, ++active);
        seen.push(job.data.i);
        await new Promise((r) => setImmediate(r));
        active--;
        return job.data.i * 2;
      },
      events: { onReady: (_w, name) => void ready.push(name), onCompleted: (job) => void completed.push(String(job.id)) },
    });
    expect(res.created).toBe(true);
    expect(ready).toEqual(['order-o1-worker']);
    await waitFor(async () => (await c.queues.getJobCounts(q.name)).completed === 100, 20_000, '100 completed');
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(maxActive).toBe(1);
    await waitFor(() => completed.length === 100);
    await waitFor(async () => Object.keys(await c.index.getEntitiesWithJobs('order')).length === 0, 5000, 'index drained');
    unobserve();
    expect(events).toHaveLength(200);
    const first = events.slice(0, 2);
    expect(first.map((e) => [e.phase, e.attempt, e.outcome, e.workerName, e.queueName, e.nodeId])).toEqual([
      ['start', 1, undefined, 'order-o1-worker', q.name, c.config.nodeId],
      ['end', 1, 'completed', 'order-o1-worker', q.name, c.config.nodeId],
    ]);
    expect(first[0].job).toMatchObject({ name: 'step', data: { i: 0 }, attemptsMade: 0 });
    expect(first[1].at).toBeGreaterThanOrEqual(first[0].at);
  });

  it('retries a failing job in place before any later job of the entity (attempts 3: A fails twice, then B, C)', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    const order: string[] = [];
    let failuresLeft = 2;
    const a = await c.queues.addJob(q.name, 'A', {}, { attempts: 3, backoff: { type: 'exponential', delay: 20 } });
    await c.queues.addJob(q.name, 'B', {});
    await c.queues.addJob(q.name, 'C', {});
    const events: JobLifecycleEvent[] = [];
    c.workers.observe((e) => events.push(e));
    await c.workers.createWorker({
      workerName: 'w',
      queueName: q.name,
      processor: async (job) => {
        order.push(job.name);
        if (job.name === 'A' && failuresLeft-- > 0) throw new Error(`boom ${failuresLeft}`);
      },
    });
    await waitFor(async () => (await c.queues.getJobCounts(q.name)).completed === 3, 10_000, 'A, B, C completed');
    expect(order).toEqual(['A', 'A', 'A', 'B', 'C']);
    expect(events.filter((e) => e.job.name === 'A' && e.phase === 'end').map((e) => [e.attempt, e.outcome, e.error?.message])).toEqual([
      [1, 'failed', 'boom 1'],
      [2, 'failed', 'boom 0'],
      [3, 'completed', undefined],
    ]);
    // Backoff waited 20 ms then 40 ms between attempts.
    const starts = events.filter((e) => e.job.name === 'A' && e.phase === 'start').map((e) => e.at);
    const ends = events.filter((e) => e.job.name === 'A' && e.phase === 'end').map((e) => e.at);
    expect(starts[1] - ends[0]).toBeGreaterThanOrEqual(19);
    expect(starts[2] - ends[1]).toBeGreaterThanOrEqual(39);
    const logs = await q.getJobLogs(a.id);
    expect(logs.logs).toEqual(['attempt 1 failed: boom 1', 'attempt 2 failed: boom 0']);
    expect(await c.redis.exists(`${c.config.keyPrefix}:attempts:${q.name}`)).toBe(0);
  });

  it('a processor that gives its job back (moveToWait + WaitingError) is not retried in place: the job runs again from wait', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    const order: string[] = [];
    let givenBack = false;
    await c.queues.addJob(q.name, 'A', {}, { attempts: 3 });
    await c.queues.addJob(q.name, 'B', {});
    await c.workers.createWorker({
      workerName: 'w',
      queueName: q.name,
      processor: async (job) => {
        order.push(job.name);
        if (job.name === 'A' && !givenBack) {
          givenBack = true;
          await job.moveToWait(job.token);
          throw new WaitingError();
        }
      },
    });
    await waitFor(async () => (await c.queues.getJobCounts(q.name)).completed === 2, 10_000, 'A and B completed');
    // Given back to the head of wait, A runs once more (not as an in-place retry) before B; nothing failed.
    expect(order).toEqual(['A', 'A', 'B']);
    expect((await c.queues.getJobCounts(q.name)).failed).toBe(0);
  });

  it('fails a job for good after its last in-place attempt (BullMQ does not retry it at the back of the queue)', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    const failed = await c.queues.addJob(q.name, 'bad', {}, { attempts: 2 });
    await c.queues.addJob(q.name, 'good', {});
    const order: string[] = [];
    const onFailed: Array<[string | undefined, string]> = [];
    await c.workers.createWorker({
      workerName: 'w',
      queueName: q.name,
      processor: async (job) => {
        order.push(job.name);
        if (job.name === 'bad') throw new Error('always');
      },
      events: { onFailed: (job, err) => void onFailed.push([job?.name, err.message]) },
    });
    await waitFor(async () => {
      const counts = await c.queues.getJobCounts(q.name);
      return counts.failed === 1 && counts.completed === 1;
    });
    expect(order).toEqual(['bad', 'bad', 'good']);
    const job = await q.getJob(failed.id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toBe('always');
    await waitFor(() => onFailed.length === 1);
    expect(onFailed).toEqual([['bad', 'always']]);
    await waitFor(async () => Object.keys(await c.index.getEntitiesWithJobs('order')).length === 0, 5000, 'index drained');
  });

  it('dispatches by job name through the registry when no processor is given; a job without processor fails with a clear reason', async () => {
    const c = core();
    const handled: string[] = [];
    c.registry.register('known', { process: async (job: Job) => void handled.push(String(job.data.v)) });
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    const unknown = await c.queues.addJob(q.name, 'unknown', {}, { attempts: 3 });
    await c.queues.addJob(q.name, 'known', { v: 'x' });
    const attempts: number[] = [];
    c.workers.observe((e) => e.phase === 'end' && e.job.name === 'unknown' && attempts.push(e.attempt));
    await c.workers.createWorker({ workerName: 'w', queueName: q.name });
    await waitFor(async () => (await c.queues.getJobCounts(q.name)).completed === 1);
    expect(handled).toEqual(['x']);
    const job = await q.getJob(unknown.id);
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toMatch(/No processor for job name 'unknown'/);
    expect(attempts).toEqual([1]); // not retried
  });

  it('a worker on another node finds the entity of its queue and keeps the pending count exact', async () => {
    const prefix = uniquePrefix();
    const producer = core({ nodeId: 'producer' }, prefix);
    const consumer = core({ nodeId: 'consumer' }, prefix);
    for (let i = 0; i < 3; i++) await producer.queues.addEntityJob('order', 'o5', 'x', { i });
    expect(await consumer.index.getEntitiesWithJobs('order')).toEqual({ o5: 3 });
    await consumer.workers.createWorker({ workerName: 'order-o5-worker', queueName: 'order-o5-queue', processor: async () => undefined });
    expect((await consumer.workers.getEntityWorkers('order', 'o5')).map((w) => [w.workerName, w.nodeId, w.alive])).toEqual([['order-o5-worker', 'consumer', true]]);
    await waitFor(async () => Object.keys(await consumer.index.getEntitiesWithJobs('order')).length === 0, 10_000, 'index drained');
    expect((await consumer.queues.getJobCounts('order-o5-queue')).completed).toBe(3);
  });

  it('global concurrency 1 holds in Redis with two Worker instances on one entity queue', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    for (let i = 0; i < 30; i++) await c.queues.addJob(q.name, 'j', { i });
    let active = 0;
    let maxActive = 0;
    const byWorker = new Map<string, number>();
    const processor = (name: string) => async () => {
      maxActive = Math.max(maxActive, ++active);
      byWorker.set(name, (byWorker.get(name) ?? 0) + 1);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    };
    const r1 = await c.workers.createWorker({ workerName: 'w1', queueName: q.name, processor: processor('w1') });
    const r2 = await c.workers.createWorker({ workerName: 'w2', queueName: q.name, processor: processor('w2') });
    expect([r1.created, r2.created]).toEqual([true, true]);
    await waitFor(async () => (await c.queues.getJobCounts(q.name)).completed === 30, 15_000);
    expect(maxActive).toBe(1);
  });
});

describe('WorkerManagerService: one live worker per name', () => {
  it('two createWorker calls racing for one name start one consumer; a second node sees the owner', async () => {
    const prefix = uniquePrefix();
    const n1 = core({ nodeId: 'node-1' }, prefix);
    const n2 = core({ nodeId: 'node-2' }, prefix);
    const q = await n1.queues.getOrCreateEntityQueue('order', 'o1');
    const processor = async () => undefined;
    const results = await Promise.all([
      n1.workers.createWorker({ workerName: 'order-o1-worker', queueName: q.name, processor }),
      n1.workers.createWorker({ workerName: 'order-o1-worker', queueName: q.name, processor }),
      n2.workers.createWorker({ workerName: 'order-o1-worker', queueName: q.name, processor }),
      n2.workers.createWorker({ workerName: 'order-o1-worker', queueName: q.name, processor }),
    ]);
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const winner = created[0].nodeId;
    for (const r of results.filter((x) => !x.created)) expect(r).toMatchObject({ created: false, reason: 'alive', owner: winner });
    expect(n1.workers.getLocalWorkerNames().length + n2.workers.getLocalWorkerNames().length).toBe(1);
    expect(await n2.workers.getWorkerOwner('order-o1-worker')).toBe(winner);
    // One consumer holds the name; entity workers share the node's connection (no connection per worker).
    expect(await n1.workers.workersAlive(['order-o1-worker'])).toEqual([true]);
  });

  it('workersAlive answers for many names at once, in order, and rejects a bad name before any Redis call', async () => {
    const c = core();
    await c.workers.createWorker({ workerName: 'w1', queueName: 'plain1', processor: async () => undefined });
    await c.workers.createWorker({ workerName: 'w3', queueName: 'plain3', processor: async () => undefined });
    expect(await c.workers.workersAlive(['w1', 'w2', 'w3', 'w4'])).toEqual([true, false, true, false]);
    expect(await c.workers.workersAlive([])).toEqual([]);
    await expect(c.workers.workersAlive(['ok', 'bad name'])).rejects.toThrow(/workerName/);
  });

  it('keeps its heartbeat alive past the TTL, removes it on close, and the name can then be reused', async () => {
    const c = core();
    const key = `${c.config.keyPrefix}:workers:w`;
    const res = await c.workers.createWorker({ workerName: 'w', queueName: 'plain', processor: async () => undefined });
    expect(res.created).toBe(true);
    expect(await c.redis.get(key)).toMatch(new RegExp(`^${c.config.nodeId}\\|[0-9a-f]{16}$`));
    const pttl = await c.redis.pttl(key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(1000);
    await new Promise((r) => setTimeout(r, 1600)); // 1.6 × TTL: only refreshes keep it alive
    expect(await c.workers.workerExists('w')).toBe(true);
    await c.workers.closeWorker('w');
    expect(await c.workers.workerExists('w')).toBe(false);
    expect(c.workers.getLocalWorkerNames()).toEqual([]);
    expect((await c.workers.createWorker({ workerName: 'w', queueName: 'plain', processor: async () => undefined })).created).toBe(true);
  });

  it('a worker that loses its heartbeat stops consuming and leaves the new owner (and its index entry) alone', async () => {
    const c = core();
    const key = `${c.config.keyPrefix}:workers:w`;
    const closed: string[] = [];
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    await c.workers.createWorker({ workerName: 'w', queueName: q.name, processor: async () => undefined, events: { onClosed: (_n, reason) => void closed.push(reason) } });
    // e.g. it expired while this process was paused and another node claimed the name
    await c.redis.set(key, 'other-node|abc', 'PX', 5000);
    await c.index.setWorkerState('order', 'o1', 'w', 'running', 'other-node');
    await waitFor(() => closed.length === 1, 3000, 'self-close');
    expect(closed).toEqual(['heartbeat-lost']);
    expect(c.workers.getLocalWorkerNames()).toEqual([]);
    expect(await c.redis.get(key)).toBe('other-node|abc');
    expect((await c.workers.getEntityWorkers('order', 'o1')).map((w) => [w.workerName, w.state, w.nodeId, w.alive])).toEqual([['w', 'running', 'other-node', true]]);
    const again = await c.workers.createWorker({ workerName: 'w', queueName: q.name, processor: async () => undefined });
    expect(again).toEqual({ created: false, workerName: 'w', reason: 'alive', owner: 'other-node' });
  });

  it('an expired heartbeat (owner paused past the TTL) also makes the worker close', async () => {
    const c = core();
    const closed: string[] = [];
    await c.workers.createWorker({ workerName: 'w', queueName: 'plain', processor: async () => undefined, events: { onClosed: (_n, r) => void closed.push(r) } });
    await c.redis.del(`${c.config.keyPrefix}:workers:w`);
    await waitFor(() => closed.length === 1, 3000, 'self-close');
    expect(closed).toEqual(['heartbeat-lost']);
  });
});

describe('WorkerManagerService: shutdown signals', () => {
  it('a publish from another connection closes the worker after its current job', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    await c.queues.addJob(q.name, 'first', {});
    await c.queues.addJob(q.name, 'second', {});
    const hold = deferred();
    const started = deferred();
    const closed: string[] = [];
    const ran: string[] = [];
    await c.workers.createWorker({
      workerName: 'order-o1-worker',
      queueName: q.name,
      processor: async (job) => {
        ran.push(job.name);
        started.resolve();
        await hold.promise;
      },
      events: { onClosed: (_n, reason) => void closed.push(reason) },
    });
    await started.promise;
    expect((await c.workers.getEntityWorkers('order', 'o1')).map((w) => [w.workerName, w.state, w.alive])).toEqual([['order-o1-worker', 'running', true]]);
    const other = new Redis(inject('redisUrl'));
    try {
      const receivers = await other.publish(`${c.config.keyPrefix}:worker:order-o1-worker:shutdown`, 'x');
      expect(receivers).toBe(1);
    } finally {
      other.disconnect();
    }
    await waitFor(async () => (await c.workers.getEntityWorkers('order', 'o1'))[0]?.state === 'closing', 3000, 'closing state');
    expect(closed).toEqual([]);
    hold.resolve();
    await waitFor(() => closed.length === 1, 5000, 'closed');
    expect(closed).toEqual(['signal']);
    expect(ran).toEqual(['first']);
    const counts = await c.queues.getJobCounts(q.name);
    expect([counts.completed, counts.waiting, counts.active]).toEqual([1, 1, 0]);
    expect(await c.workers.workerExists('order-o1-worker')).toBe(false);
    expect(await c.workers.getEntityWorkers('order', 'o1')).toEqual([]);
  });

  it('signalWorkerClose reaches the owner on another node', async () => {
    const prefix = uniquePrefix();
    const n1 = core({ nodeId: 'node-1' }, prefix);
    const n2 = core({ nodeId: 'node-2' }, prefix);
    await n1.workers.createWorker({ workerName: 'w', queueName: 'plain', processor: async () => undefined });
    expect(await n2.workers.signalWorkerClose('w')).toBe(1);
    await waitFor(async () => !(await n2.workers.workerExists('w')), 3000, 'remote close');
    expect(n1.workers.getLocalWorkerNames()).toEqual([]);
  });

  it('shutdown lets the current job finish, then refuses new workers', async () => {
    const c = core();
    const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
    await c.queues.addJob(q.name, 'slow', {});
    const started = deferred();
    await c.workers.createWorker({
      workerName: 'w',
      queueName: q.name,
      processor: async () => {
        started.resolve();
        await new Promise((r) => setTimeout(r, 300));
      },
    });
    await started.promise;
    expect(await c.workers.shutdown(5000)).toBe(true);
    expect((await c.queues.getJobCounts(q.name)).completed).toBe(1);
    expect(await c.workers.workerExists('w')).toBe(false);
    expect(await c.workers.createWorker({ workerName: 'w2', queueName: q.name })).toMatchObject({ created: false, reason: 'shutting-down' });
  });

  it('waitForWorkersToClose times out on a stuck job; the job is not lost and re-runs elsewhere', async () => {
    const prefix = uniquePrefix();
    const n1 = core({}, prefix);
    const q = await n1.queues.getOrCreateEntityQueue('order', 'o1');
    const added = await n1.queues.addJob(q.name, 'stuck', {});
    const never = deferred();
    await dieMidJob(n1, q.name, () => never.promise, 200);
    expect(n1.workers.getLocalWorkerNames()).toEqual([]);
    expect(await (await q.getJob(added.id))?.getState()).toBe('active');

    const n2 = core({}, prefix);
    const q2 = await n2.queues.getOrCreateEntityQueue('order', 'o1');
    const reran: string[] = [];
    await n2.workers.createWorker({ workerName: 'w', queueName: q2.name, processor: async (job) => void reran.push(String(job.id)), config: { stalledInterval: 300 } });
    await waitFor(() => reran.length === 1, 10_000, 'stalled job re-run');
    expect(reran).toEqual([added.id]);
    never.resolve();
  });
});

describe('WorkerManagerService: crash during an in-place retry', () => {
  it('the stalled job returns ahead of later jobs and continues with the next attempt number', async () => {
    const prefix = uniquePrefix();
    const n1 = core({ nodeId: 'node-1' }, prefix);
    const q = await n1.queues.getOrCreateEntityQueue('order', 'o1');
    const a = await n1.queues.addJob(q.name, 'A', {}, { attempts: 3, backoff: { type: 'fixed', delay: 60_000 } });
    await n1.queues.addJob(q.name, 'B', {});
    await n1.queues.addJob(q.name, 'C', {});
    // A fails once and then waits 60 s in its backoff, still active: the node "dies" there.
    await dieMidJob(n1, q.name, async () => {
      throw new Error('first attempt fails');
    }, 100);

    const n2 = core({ nodeId: 'node-2' }, prefix);
    const q2 = await n2.queues.getOrCreateEntityQueue('order', 'o1');
    const runs: Array<[string, number]> = [];
    n2.workers.observe((e) => e.phase === 'start' && runs.push([e.job.name, e.attempt]));
    await n2.workers.createWorker({ workerName: 'w', queueName: q2.name, processor: async () => undefined, config: { stalledInterval: 300 } });
    await waitFor(async () => (await n2.queues.getJobCounts(q2.name)).completed === 3, 15_000, 'A, B, C completed');
    expect(runs).toEqual([['A', 2], ['B', 1], ['C', 1]]);
    expect(await (await q2.getJob(a.id))?.getState()).toBe('completed');
  });
});

describe('WorkerManagerService: bad input', () => {
  it('rejects invalid names, processors and per-worker config before claiming anything', async () => {
    const c = core();
    await expect(c.workers.createWorker({ workerName: '', queueName: 'q' })).rejects.toThrow(/workerName: must be a non-empty string/);
    await expect(c.workers.createWorker({ workerName: 'a b', queueName: 'q' })).rejects.toThrow(/workerName/);
    await expect(c.workers.createWorker({ workerName: 'w', queueName: '' })).rejects.toThrow(/queueName/);
    await expect(c.workers.createWorker({ workerName: 'w', queueName: 'q', processor: 'nope' as never })).rejects.toThrow(/processor: must be a function/);
    await expect(c.workers.createWorker({ workerName: 'w', queueName: 'q', config: { heartbeatTTL: 1, heartbeatInterval: 1000 } })).rejects.toThrow(/config\.heartbeatInterval/);
    await expect(c.workers.createWorker({ workerName: 'w', queueName: 'q', entity: { entityType: 'a:b', entityId: '1' } })).rejects.toThrow(AtomicQueuesValidationError);
    await expect(c.workers.workerExists('')).rejects.toThrow(/workerName/);
    await expect(c.workers.getEntityWorkers('order', '')).rejects.toThrow(/entityId/);
    expect(await c.keys()).toEqual([]);
  });
});

describe('WorkerManagerService: Redis unreachable', () => {
  it('a worker that cannot refresh its heartbeat for a whole TTL stops consuming', async () => {
    const server = await startRedisServer();
    try {
      const c = makeCore({ redis: { url: server.url, maxRetriesPerRequest: 1 }, shutdownTimeoutMs: 1000 });
      const closed: string[] = [];
      await c.workers.createWorker({ workerName: 'w', queueName: 'plain', processor: async () => undefined, events: { onClosed: (_n, r) => void closed.push(r) } });
      await server.kill();
      await waitFor(() => closed.length === 1, 8000, 'close after TTL without Redis');
      expect(closed).toEqual(['heartbeat-lost']);
      expect(c.workers.getLocalWorkerNames()).toEqual([]);
      await c.driver.close();
      c.redis.disconnect();
      c.subscriber.disconnect();
    } finally {
      await server.stop();
    }
  });
});
