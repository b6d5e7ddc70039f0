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
 * Two Nest apps (two "nodes") on one Redis and one keyPrefix, with real BullMQ workers and a registered entity
 * type: with no cron tick at all, every entity with jobs gets exactly one worker across the nodes (the engine's
 * dispatcher takes it from the ready set), its jobs run in order, and once the entity is idle its worker releases
 * it. The cron, ticked afterwards as the safety net, then finds nothing to spawn or close.
 */
const apps: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((m) => m.close()));
});

describe('CronManagerService with real workers on two nodes', () => {
  it('spawns one worker per entity across nodes without a cron tick, and releases it when the entity is idle', async () => {
    const prefix = `ce-${randomBytes(6).toString('hex')}`;
    const processed: { node: string; entityId: string; n: number }[] = [];
    const created: { node: string; entityId: string }[] = [];
    const nodes = await Promise.all(
      ['node-a', 'node-b'].map(async (nodeId) => {
        const moduleRef = await Test.createTestingModule({
          imports: [AtomicQueuesModule.forRoot({ redis: { url: inject('redisUrl') }, keyPrefix: prefix, nodeId, engine: { idleReleaseMs: 300 } })],
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

    await waitFor(() => processed.length === 12, 20_000, 'all jobs to run', 50);
    expect(created.map((c) => c.entityId).sort()).toEqual(entityIds);
    for (const id of entityIds) {
      const runs = processed.filter((p) => p.entityId === id);
      expect(runs.map((r) => r.n)).toEqual([0, 1, 2]);
      expect(new Set(runs.map((r) => r.node)).size).toBe(1);
    }
    await waitFor(async () => Object.keys(await a.index.getEntitiesWithJobs('order')).length === 0, 10_000, 'the pending-job index to drain', 50);

    // Idle now: each worker gives its entity back by itself.
    const names = entityIds.map((id) => entityWorkerName('order', id));
    await waitFor(async () => !(await a.workers.workersAlive(names)).includes(true), 15_000, 'the workers to release their entities', 50);
    await waitFor(() => a.workers.getLocalWorkerNames().length + b.workers.getLocalWorkerNames().length === 0, 5000, 'the local workers to close', 20);
    const [ta, tb] = await Promise.all([a.cron.tick(), b.cron.tick()]);
    expect([...ta.spawned, ...tb.spawned, ...ta.terminated, ...tb.terminated]).toEqual([]);

    // A new job of a released entity is taken again at once.
    await b.queues.addEntityJob('order', 'o1', 'work', { n: 3 });
    await waitFor(() => processed.length === 13, 10_000, 'the new job to run', 20);
  });
});
