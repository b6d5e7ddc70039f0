import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';

describeOnBothBackends('conformance: Queue basics', (world) => {
  it('add → getJob → getJobCounts; a worker completes jobs in FIFO order', async () => {
    const w = world();
    const q = w.queue('basics');
    const a = await q.add('a', { n: 1 });
    await q.add('b', { n: 2 });
    expect((await q.getJob(a.id!))?.data).toEqual({ n: 1 });
    expect(await q.getJobCounts('waiting', 'active', 'completed')).toEqual({ waiting: 2, active: 0, completed: 0 });
    const seen: string[] = [];
    w.worker('basics', async (job) => {
      seen.push(job.name);
      return job.data.n * 10;
    });
    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'two completed');
    expect(seen).toEqual(['a', 'b']);
    expect((await q.getJob(a.id!))?.returnvalue).toBe(10);
  });
});
