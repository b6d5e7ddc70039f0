import { randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { entityWorkerName } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { IndexManagerService } from '../../src/index/index-manager.service.js';
import { AtomicQueuesModule } from '../../src/module/atomic-queues.module.js';
import { QueueManagerService } from '../../src/queues/queue-manager.service.js';
import { WorkerManagerService } from '../../src/workers/worker-manager.service.js';
import { waitFor } from '../support/wait.js';

/**
 * Two Nest apps (two "nodes") on one Redis and one keyPrefix, both running the cron with real BullMQ workers:
 * every entity with jobs gets exactly one worker across the nodes, its jobs run in order, and once the entity is
 * idle the cron closes its worker.
 */
const apps: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((m) => m.close()));
});

describe('CronManagerService with real workers on two nodes', () => {
  it('spawns one worker per entity across nodes, and closes it when the entity is idle', async () => {
    const prefix = `ce-${randomBytes(6).toString('hex')}`;
    const processed: { node: string; entityId: string; n: number }[] = [];
    const created: { node: string; entityId: string }[] = [];
    const nodes = await Promise.all(
      ['node-a', 'node-b'].map(async (nodeId) => {
        const moduleRef = await Test.createTestingModule({
          imports: [AtomicQueuesModule.forRoot({ redis: { url: inject('redisUrl') }, keyPrefix: prefix, nodeId })],
        }).compile();
        await moduleRef.init();
        apps.push(moduleRef);
        const queues = moduleRef.get(QueueManagerService);
        const workers = moduleRef.get(WorkerManagerService);
        const cron = moduleRef.get(CronManagerService);
        cron.registerEntityType({
          entityType: 'order',
          onSpawnWorker: async (entityId) => {
            const queue = await queues.getOrCreateEntityQueue('order', entityId);
            const result = await workers.createWorker<{ n: number }>({
              workerName: entityWorkerName('order', entityId),
              queueName: queue.name,
              entity: { entityType: 'order', entityId },
              processor: (job) => void processed.push({ node: nodeId, entityId, n: job.data.n }),
            });
            if (result.created) created.push({ node: nodeId, entityId });
          },
        });
        return { nodeId, queues, workers, cron, index: moduleRef.get(IndexManagerService) };
      }),
    );
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];

    const entityIds = ['o1', 'o2', 'o3', 'o4'];
    for (const id of entityIds) for (let n = 0; n < 3; n++) await a.queues.addEntityJob('order', id, 'work', { n });

    const [ra, rb] = await Promise.all([a.cron.tick(), b.cron.tick()]);
    expect([...ra.errors, ...rb.errors]).toEqual([]);
    expect([...ra.spawned, ...rb.spawned].map((s) => s.entityId).sort()).toEqual(entityIds);
    expect(created.map((c) => c.entityId).sort()).toEqual(entityIds);

    await waitFor(() => processed.length === 12, 20_000, 'all jobs to run', 50);
    for (const id of entityIds) {
      const runs = processed.filter((p) => p.entityId === id);
      expect(runs.map((r) => r.n)).toEqual([0, 1, 2]);
      expect(new Set(runs.map((r) => r.node)).size).toBe(1);
    }
    await waitFor(async () => Object.keys(await a.index.getEntitiesWithJobs('order')).length === 0, 10_000, 'the pending-job index to drain', 50);

    // Idle now: the next ticks close every worker (from whichever node sees it first) and spawn nothing.
    const [ia, ib] = await Promise.all([a.cron.tick(), b.cron.tick()]);
    expect([...ia.spawned, ...ib.spawned]).toEqual([]);
    expect([...new Set([...ia.terminated, ...ib.terminated].map((t) => t.entityId))].sort()).toEqual(entityIds);
    const names = entityIds.map((id) => entityWorkerName('order', id));
    await waitFor(async () => !(await a.workers.workersAlive(names)).includes(true), 15_000, 'the workers to close', 50);
    const after = await a.cron.tick();
    expect(after.spawned).toEqual([]);
    expect(after.terminated).toEqual([]);
  });
});
