import net from 'node:net';
import tls from 'node:tls';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { QueueManagerService, ResourceLockService, WorkerManagerService, CronManagerService, entityWorkerName } from '@nestjs/atomic-queues';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';

/** Spies on every way Node opens a TCP/TLS connection. */
function spyOnConnections() {
  const spies = [
    vi.spyOn(net.Socket.prototype, 'connect'),
    vi.spyOn(net, 'connect'),
    vi.spyOn(net, 'createConnection'),
    vi.spyOn(tls, 'connect'),
  ];
  return { calls: () => spies.reduce((n, s) => n + s.mock.calls.length, 0) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AtomicQueuesTestingModule opens no network connection', () => {
  it('the spy sees a real ioredis connection attempt (control)', async () => {
    const spy = spyOnConnections();
    const client = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    await client.connect().catch(() => undefined);
    client.disconnect();
    expect(spy.calls()).toBeGreaterThan(0);
  });

  it('compile, init, jobs, workers, locks, cron, crash and close: zero connect calls', async () => {
    const spy = spyOnConnections();
    const moduleRef = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ enableCronManager: true })] }).compile();
    await moduleRef.init();
    const harness = moduleRef.get(AtomicQueuesTestHarness);
    const queues = moduleRef.get(QueueManagerService);
    const workers = moduleRef.get(WorkerManagerService);
    const queue = await queues.getOrCreateEntityQueue('order', 'n1');
    await queues.addJob(queue.name, 'a', {}, { attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    await queues.addJob(queue.name, 'b', {}, { delay: 500 });
    let failOnce = true;
    await workers.createWorker({
      workerName: entityWorkerName('order', 'n1'),
      queueName: queue.name,
      processor: async () => {
        if (failOnce) {
          failOnce = false;
          throw new Error('once');
        }
      },
    });
    const lock = await moduleRef.get(ResourceLockService).acquireLock('account', 'a1', 'me', 'test', 5);
    expect(lock.acquired).toBe(true);
    await moduleRef.get(CronManagerService).tick();
    await harness.runUntilIdle();
    await harness.crashWorker(entityWorkerName('order', 'n1'));
    await workers.signalWorkerClose('anything');
    harness.expectFailure('a');
    await harness.verify();
    await moduleRef.close();
    expect(spy.calls()).toBe(0);
  });
});
