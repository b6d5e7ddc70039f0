import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AtomicQueuesModule, QueueManagerService, ResourceLockService, WorkerManagerService, entityQueueName } from '../../src/index.js';
import { EntityDispatcher } from '../../src/engine/entity-dispatcher.service.js';
import { FAST_WORKERS, uniquePrefix, waitFor } from '../core/support.js';
import { OtelHarness } from './otel-harness.js';

let otel: OtelHarness;
const apps: TestingModule[] = [];
beforeAll(() => {
  otel = new OtelHarness();
});
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await otel.close();
});

async function boot(nodeId: string) {
  const app = await Test.createTestingModule({
    imports: [
      AtomicQueuesModule.forRoot({
        redis: { url: inject('redisUrl') },
        keyPrefix: uniquePrefix(),
        nodeId,
        workerDefaults: FAST_WORKERS,
        shutdownTimeoutMs: 5000,
        engine: { pollInterval: 100 },
        telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
      }),
    ],
  }).compile();
  apps.push(app);
  await app.init();
  return { app, queues: app.get(QueueManagerService), workers: app.get(WorkerManagerService), locks: app.get(ResourceLockService) };
}

const T = 'atomic_queues.entity.type';
const NODE = 'atomic_queues.node.id';
const OUTCOME = 'atomic_queues.outcome';

describe('telemetry: metrics per entity type', () => {
  it('after a known workload: backlog, active, completed/failed/retried, lag and duration histograms', async () => {
    const { queues, workers } = await boot('node-m1');
    const retry = { backoff: { type: 'fixed' as const, delay: 5 } };
    // acct: a1 two jobs that complete; a2 one job failing both of its 2 attempts; a3 one job failing once of 3.
    await queues.addEntityJob('acct', 'a1', 'ok', {});
    await queues.addEntityJob('acct', 'a1', 'ok', {});
    await queues.addEntityJob('acct', 'a2', 'bad', {}, { attempts: 2, ...retry });
    await queues.addEntityJob('acct', 'a3', 'flaky', {}, { attempts: 3, ...retry });
    await queues.addEntityJob('user', 'u1', 'ok', {});
    // Nothing runs yet: three acct entities and one user entity have a backlog; none is active here.
    expect(await otel.value('atomic_queues.entities.backlog', { [T]: 'acct' })).toBe(3);
    expect(await otel.value('atomic_queues.entities.backlog', { [T]: 'user' })).toBe(1);
    expect(await otel.value('atomic_queues.entities.active', { [T]: 'acct', [NODE]: 'node-m1' })).toBe(0);

    let flaky = 0;
    const processor = async (job: { name: string }) => {
      if (job.name === 'bad') throw new Error('always');
      if (job.name === 'flaky' && ++flaky === 1) throw new Error('once');
      return 'done';
    };
    for (const id of ['a1', 'a2', 'a3']) {
      await workers.createWorker({ workerName: `acct-${id}-w`, queueName: entityQueueName('acct', id), entity: { entityType: 'acct', entityId: id }, processor });
    }
    // Three acct workers live on this node (started by hand: they stay until closed).
    expect(await otel.value('atomic_queues.entities.active', { [T]: 'acct', [NODE]: 'node-m1' })).toBe(3);
    await waitFor(async () => (await otel.value('atomic_queues.jobs.completed', { [T]: 'acct' })) === 3 && (await otel.value('atomic_queues.jobs.failed', { [T]: 'acct' })) === 1, 10_000);

    expect(await otel.value('atomic_queues.jobs.completed', { [T]: 'acct' })).toBe(3);
    expect(await otel.value('atomic_queues.jobs.failed', { [T]: 'acct' })).toBe(1);
    expect(await otel.value('atomic_queues.jobs.retried', { [T]: 'acct' })).toBe(2);
    // One lag per job (first attempts), one duration per attempt: 3 completed, 3 failed (a2 twice, a3 once).
    expect((await otel.histogram('atomic_queues.job.lag', { [T]: 'acct' }))?.count).toBe(4);
    expect((await otel.histogram('atomic_queues.job.duration', { [T]: 'acct', [OUTCOME]: 'completed' }))?.count).toBe(3);
    expect((await otel.histogram('atomic_queues.job.duration', { [T]: 'acct', [OUTCOME]: 'failed' }))?.count).toBe(3);
    // Every acct job finished: no acct backlog left; the user entity still waits (no worker).
    await waitFor(async () => (await otel.value('atomic_queues.entities.backlog', { [T]: 'acct' })) === 0, 5000);
    expect(await otel.value('atomic_queues.entities.backlog', { [T]: 'user' })).toBe(1);
    // The user type never had a worker here: reported as 0 active (a series per known type).
    expect(await otel.value('atomic_queues.entities.active', { [T]: 'user', [NODE]: 'node-m1' })).toBe(0);
  });

  it('heartbeat losses, takeovers and fencing rejections', async () => {
    const { app, queues, workers, locks } = await boot('node-m2');
    // Fencing: token 1 goes stale once token 2 is issued; the check and the fenced write both reject it.
    const first = await locks.acquireLock('ledger', 'l1', 'p1', 'proc', 30);
    const token = first.fencingToken;
    if (token === undefined) throw new Error('lock not acquired');
    expect(await locks.checkFencingToken('ledger', 'l1', token)).toBe(true);
    await locks.releaseLock('ledger', 'l1', 'p1');
    await locks.acquireLock('ledger', 'l1', 'p2', 'proc', 30);
    expect(await locks.checkFencingToken('ledger', 'l1', token)).toBe(false);
    const write = await locks.applyIfCurrent('ledger', 'l1', token, { key: 'ledger-total', op: 'set', value: 1 });
    expect(write.applied).toBe(false);
    expect(await otel.value('atomic_queues.fencing.rejections', { 'atomic_queues.resource.type': 'ledger' })).toBe(2);

    // Heartbeat loss: another owner takes the worker's heartbeat key; the worker notices at its next refresh.
    const queueName = entityQueueName('box', 'b1');
    await queues.addEntityJob('box', 'b1', 'noop', {});
    await workers.createWorker({ workerName: 'box-b1-w', queueName, entity: { entityType: 'box', entityId: 'b1' }, processor: async () => 'ok' });
    const redis = app.get<import('ioredis').Redis>(Symbol.for('@nestjs/atomic-queues:redis'));
    const config = app.get<{ keyPrefix: string }>(Symbol.for('@nestjs/atomic-queues:config'));
    await redis.set(`${config.keyPrefix}:workers:box-b1-w`, 'someone-else|x', 'PX', 60_000);
    await waitFor(async () => (await otel.value('atomic_queues.heartbeat.losses', { [T]: 'box', [NODE]: 'node-m2' })) === 1, 5000);
    // The other owner keeps b1's heartbeat alive, so the lease reaper leaves b1 alone: only b2 below is taken over.

    // Takeover: a worker "dies" (no more heartbeats, no release); once its heartbeat expires this node's lease
    // reaper takes its entity over.
    await workers.createWorker({ workerName: 'box-b2-w', queueName: entityQueueName('box', 'b2'), entity: { entityType: 'box', entityId: 'b2' }, processor: async () => 'ok' });
    await workers.crashLocalWorker('box-b2-w');
    const dispatcher = app.get(EntityDispatcher);
    await waitFor(async () => {
      await dispatcher.poll();
      return (await otel.value('atomic_queues.takeovers', { [T]: 'box', [NODE]: 'node-m2' })) !== undefined;
    }, 15_000);
    expect(await otel.value('atomic_queues.takeovers', { [T]: 'box', [NODE]: 'node-m2' })).toBe(1);
  });
});
