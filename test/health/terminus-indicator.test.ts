import { ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService } from '@nestjs/terminus';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  AtomicQueuesConfigError,
  AtomicQueuesHealthIndicator,
  AtomicQueuesHealthModule,
  AtomicQueuesModule,
  QueueManagerService,
  WorkerManagerService,
  entityWorkerName,
} from '../../src/index.js';
import { AtomicQueuesTestingModule } from '../../testing/index.js';
import { FAST_WORKERS, deferred, uniquePrefix } from '../core/support.js';

/** The terminus indicator in an app on real Redis: what terminus' HealthCheckService makes of it. */
const apps: TestingModule[] = [];
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
});

async function boot(): Promise<TestingModule> {
  const app = await Test.createTestingModule({
    imports: [
      AtomicQueuesModule.forRoot({ redis: { url: inject('redisUrl') }, keyPrefix: uniquePrefix('health'), enableCronManager: true, cronInterval: 200, workerDefaults: FAST_WORKERS }),
      AtomicQueuesHealthModule.forRoot({ pingTimeoutMs: 500 }),
    ],
  }).compile();
  apps.push(app);
  await app.init();
  return app;
}

describe('AtomicQueuesHealthIndicator with terminus', () => {
  it('live and ready on a running node: every check up, the heartbeat of its worker counted', async () => {
    const app = await boot();
    const job = await app.get(QueueManagerService).addEntityJob('order', 'o1', 'charge', {});
    const started = deferred();
    const release = deferred();
    await app.get(WorkerManagerService).createWorker({
      workerName: entityWorkerName('order', 'o1'),
      queueName: job.queueName,
      processor: async () => {
        started.resolve();
        await release.promise;
      },
    });
    await started.promise;
    const health = app.get(HealthCheckService);
    const indicator = app.get(AtomicQueuesHealthIndicator);

    const live = await health.check([() => indicator.isAlive()]);
    expect(live.status).toBe('ok');
    expect(live.details['atomic-queues']).toMatchObject({ status: 'up', checks: { dispatcher: { status: 'up' }, cron: { status: 'up' } } });

    const ready = await health.check([() => indicator.isReady('queues')]);
    expect(ready.status).toBe('ok');
    expect(ready.details.queues).toMatchObject({
      status: 'up',
      checks: {
        shutdown: { status: 'up' },
        redis: { status: 'up', latencyMs: expect.any(Number) },
        heartbeats: { status: 'up', workers: 1, stale: 0 },
        dispatcher: { status: 'up' },
        cron: { status: 'up' },
      },
    });
    release.resolve();
  });

  it('during the graceful shutdown: not ready (503 with the reason), still alive', async () => {
    const app = await boot();
    const job = await app.get(QueueManagerService).addEntityJob('order', 'o2', 'charge', {});
    const started = deferred();
    const release = deferred();
    await app.get(WorkerManagerService).createWorker({
      workerName: entityWorkerName('order', 'o2'),
      queueName: job.queueName,
      processor: async () => {
        started.resolve();
        await release.promise;
      },
    });
    await started.promise;
    const health = app.get(HealthCheckService);
    const indicator = app.get(AtomicQueuesHealthIndicator);
    // close() waits for the in-flight job: the probes are asked while the node drains.
    const closing = app.close();
    apps.splice(apps.indexOf(app), 1);
    await new Promise((r) => setTimeout(r, 50));

    const err = await health.check([() => indicator.isReady()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableException);
    const body = (err as ServiceUnavailableException).getResponse() as { status: string; error: Record<string, { status: string; checks: Record<string, { status: string; message?: string }> }> };
    expect(body.status).toBe('error');
    expect(body.error['atomic-queues'].checks.shutdown).toEqual({ status: 'down', message: 'the node is shutting down (draining its workers)' });

    expect((await health.check([() => indicator.isAlive()])).status).toBe('ok');
    release.resolve();
    await closing;
  });

  it('works over the testing module too (same services, in-memory ports)', async () => {
    const app = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ clock: 'system' }), AtomicQueuesHealthModule.forRoot()] }).compile();
    apps.push(app);
    await app.init();
    const ready = await app.get(HealthCheckService).check([() => app.get(AtomicQueuesHealthIndicator).isReady()]);
    expect(ready.status).toBe('ok');
  });

  it('bad options fail when the module is declared, naming the field', async () => {
    await expect(AtomicQueuesHealthModule.forRoot({ pingTimeoutMs: -5 })).rejects.toBeInstanceOf(AtomicQueuesConfigError);
    await expect(AtomicQueuesHealthModule.forRoot({ pingTimeoutMs: -5 })).rejects.toThrow(/health\.pingTimeoutMs must be an integer in \[1, /);
  });
});
