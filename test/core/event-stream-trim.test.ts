import { afterEach, describe, expect, it } from 'vitest';
import { entityWorkerName } from '../../src/config/keys.js';
import { CliContext } from '../../src/cli/context.js';
import { makeCore, waitFor, type Core } from './support.js';

/**
 * Every entity queue has its own BullMQ event stream. With BullMQ's default of 10,000 events per stream, a
 * 30-minute soak over 10,000 entities grew Redis from 50 to 140 MiB while the key count stayed flat (each stream
 * 235 events, 15 KiB, on its way to ~650 KiB). The module opens its queues with `queueDefaults.eventsMaxLen`.
 */
let core: Core | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

async function runJobs(c: Core, entityId: string, jobs: number): Promise<string> {
  const queue = c.queues.getOrCreateEntityQueue('order', entityId);
  let done = 0;
  await c.workers.createWorker({ workerName: entityWorkerName('order', entityId), queueName: queue.name, processor: async () => void done++ });
  for (let i = 0; i < jobs; i++) await c.queues.addJob(queue.name, 'step', { i }, { removeOnComplete: true });
  await waitFor(() => done === jobs, 20_000, `${jobs} jobs of ${entityId}`);
  return queue.name;
}

describe('entity queues keep a short event stream (real Redis)', () => {
  it('by default at most about 100 + one stream node of events, whatever the number of jobs', async () => {
    core = makeCore();
    const name = await runJobs(core, 'trim1', 300); // ~5 events per job: 1,500 events without trimming
    const keys = core.queues.getOrCreateQueue(name).keys;
    expect(await core.redis.hget(keys.meta!, 'opts.maxLenEvents')).toBe('100');
    const length = await core.redis.xlen(keys.events!);
    // XTRIM MAXLEN ~ removes whole stream nodes (100 entries each by default)
    expect(length).toBeGreaterThanOrEqual(100);
    expect(length).toBeLessThanOrEqual(250);
  }, 30_000);

  it('queueDefaults.eventsMaxLen sets the length; the CLI opening the queue leaves it as the app set it', async () => {
    core = makeCore({ queueDefaults: { eventsMaxLen: 1000 } });
    const name = await runJobs(core, 'trim2', 300);
    const keys = core.queues.getOrCreateQueue(name).keys;
    expect(await core.redis.hget(keys.meta!, 'opts.maxLenEvents')).toBe('1000');
    expect(await core.redis.xlen(keys.events!)).toBeGreaterThan(1000); // ~1,500 events, none trimmed yet
    const cli = await CliContext.open({ redisUrl: core.config.redis.url!, keyPrefix: core.config.keyPrefix }, {});
    try {
      const queue = cli.openQueue(name);
      expect((await queue.getJobCounts()).completed).toBe(0);
    } finally {
      await cli.close();
    }
    expect(await core.redis.hget(keys.meta!, 'opts.maxLenEvents')).toBe('1000');
  }, 30_000);
});
