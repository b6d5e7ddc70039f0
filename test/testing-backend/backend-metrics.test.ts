import { MetricsTime } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

const MINUTE = 60_000;

describe('in-memory backend: metrics per minute of the TestClock', () => {
  it('rolls the count over into one data point per minute, with zeros for the minutes without a finish', async () => {
    w = createWorld();
    const q = w.queue('m');
    const t0 = w.clock.now(); // on a minute boundary
    w.worker('m', async (job) => {
      if (job.name === 'bad') throw new Error('bad');
    }, { metrics: { maxDataPoints: MetricsTime.ONE_HOUR } });
    const finish = async (...names: string[]) => {
      for (const name of names) await q.add(name, {});
      await w.clock.settle();
    };

    await finish('a', 'b', 'c'); // minute 0: the first finish only sets prevTS
    expect(await q.getMetrics('completed')).toEqual({ meta: { count: 3, prevTS: t0, prevCount: 0 }, data: [], count: 0 });

    await w.clock.advance(MINUTE);
    await finish('d'); // minute 1: the 3 jobs before it make the first point
    expect(await q.getMetrics('completed')).toEqual({ meta: { count: 4, prevTS: t0 + MINUTE, prevCount: 3 }, data: [3], count: 1 });

    await w.clock.advance(3 * MINUTE);
    await finish('e', 'f'); // minute 4: 1 job (d), then zeros for minutes 2 and 3, newest first
    expect(await q.getMetrics('completed')).toEqual({ meta: { count: 6, prevTS: t0 + 4 * MINUTE, prevCount: 4 }, data: [0, 0, 1, 3], count: 4 });
    expect((await q.getMetrics('completed', 1, 2)).data).toEqual([0, 1]);

    await finish('bad');
    await w.clock.advance(MINUTE);
    await finish('bad');
    expect(await q.getMetrics('failed')).toEqual({ meta: { count: 2, prevTS: t0 + 5 * MINUTE, prevCount: 1 }, data: [1], count: 1 });
  });

  it('keeps at most maxDataPoints points', async () => {
    w = createWorld();
    const q = w.queue('trim');
    w.worker('trim', async () => 'ok', { metrics: { maxDataPoints: 3 } });
    for (let minute = 0; minute < 6; minute++) {
      for (let i = 0; i <= minute; i++) await q.add('j', {});
      await w.clock.settle();
      await w.clock.advance(MINUTE);
    }
    // Points for minutes 0..4 were 1,2,3,4,5 (minute 5 is still open): the newest 3 remain.
    expect(await q.getMetrics('completed')).toEqual({ meta: { count: 21, prevTS: w.clock.now() - MINUTE, prevCount: 15 }, data: [5, 4, 3], count: 3 });
  });

  it('a long quiet gap adds at most maxDataPoints zeros', async () => {
    w = createWorld();
    const q = w.queue('gap');
    w.worker('gap', async () => 'ok', { metrics: { maxDataPoints: 4 } });
    await q.add('a', {});
    await w.clock.settle();
    await w.clock.advance(24 * 60 * MINUTE);
    await q.add('b', {});
    await w.clock.settle();
    expect((await q.getMetrics('completed')).data).toEqual([0, 0, 0, 1]);
  });
});
