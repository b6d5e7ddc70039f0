import { describe, expect, it } from 'vitest';
import { InMemoryQueueDriver } from '../../testing/backend/index.js';
import { TestClock } from '../../testing/clock/index.js';

describe('InMemoryQueueDriver', () => {
  it('builds queues and workers on one store and clock, honouring the BullMQ prefix', async () => {
    const clock = new TestClock();
    const driver = new InMemoryQueueDriver({ clock });
    expect(driver.kind).toBe('memory');
    const queue = driver.createQueue('order-1-queue', { prefix: 'aq-test' });
    const seen: string[] = [];
    const worker = driver.createWorker('order-1-queue', async (job) => {
      seen.push(job.name);
    }, { prefix: 'aq-test', concurrency: 1 });
    await queue.add('first', {}, { delay: 250 });
    await queue.add('second', {});
    await clock.runForegroundTimers();
    expect(seen).toEqual(['second', 'first']);
    expect(driver.store.queueNames()).toEqual(['aq-test:order-1-queue']);
    await worker.close();
    await queue.close();
    await driver.close();
    expect(clock.pending().filter((p) => !p.unref)).toEqual([]);
  });
});
