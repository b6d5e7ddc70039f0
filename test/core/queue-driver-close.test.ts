import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { resolveConfig } from '../../src/config/atomic-queues-config.js';
import { RedisQueueDriver } from '../../src/drivers/redis-queue-driver.js';
import { AtomicQueuesError } from '../../src/errors.js';
import { uniquePrefix } from './support.js';

async function clientNames(redis: Redis): Promise<string[]> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list.split('\n').flatMap((line) => /(?:^| )name=(\S+)/.exec(line)?.[1] ?? []);
}

describe('RedisQueueDriver after close()', () => {
  it('refuses queues and workers (a late re-check after shutdown) instead of opening a connection nobody closes', async () => {
    const nodeId = `drv-${uniquePrefix()}`;
    const driver = new RedisQueueDriver(resolveConfig({ redis: { url: inject('redisUrl') } }).redis, undefined, nodeId);
    const probe = new Redis(inject('redisUrl'));
    try {
      const queue = driver.createQueue('q-before-close', {});
      await queue.getJobCounts();
      expect(await clientNames(probe)).toContain(`aq:${nodeId}:queues`);
      await queue.close();
      await driver.close();

      expect(() => driver.createQueue('q-after-close', {})).toThrow(AtomicQueuesError);
      expect(() => driver.createQueue('q-after-close', {})).toThrow(/queue driver is closed .*a queue command cannot open a Redis connection/);
      expect(() => driver.createWorker('q-after-close', async () => undefined, {})).toThrow(/queue driver is closed .*a worker for q-after-close/);
      await expect(driver.recoverOrphanedJobs('q-after-close', 'bull')).rejects.toThrow(AtomicQueuesError);
      expect((await clientNames(probe)).filter((name) => name.startsWith(`aq:${nodeId}:`))).toEqual([]);
    } finally {
      probe.disconnect();
    }
  });
});
