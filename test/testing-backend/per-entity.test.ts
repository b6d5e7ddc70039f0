import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

describe('in-memory backend: one queue + one worker per entity', () => {
  it('keeps FIFO per entity while entities run in parallel on the clock', async () => {
    w = createWorld();
    const entities = Array.from({ length: 20 }, (_, i) => `order-${i}`);
    const runs = new Map<string, { seq: number; start: number; end: number }[]>();
    for (const [index, id] of entities.entries()) {
      const name = `order-${id}-queue`;
      const q = w.queue(name);
      runs.set(id, []);
      w.worker(name, async (job) => {
        const start = w.clock.now();
        await w.clock.sleep(10 + ((index * 7 + job.data.seq * 3) % 11));
        runs.get(id)!.push({ seq: job.data.seq, start, end: w.clock.now() });
      });
      for (let seq = 0; seq < 5; seq++) await q.add('step', { seq });
    }
    await w.clock.runForegroundTimers();
    for (const id of entities) {
      const r = runs.get(id)!;
      expect(r.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4]);
      for (let i = 1; i < r.length; i++) expect(r[i].start).toBeGreaterThanOrEqual(r[i - 1].end); // one at a time
    }
    // parallel: every entity's first job started at the same clock time
    expect(new Set(entities.map((id) => runs.get(id)![0].start)).size).toBe(1);
  });
});
