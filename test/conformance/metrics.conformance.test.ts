import { expect, it } from 'vitest';
import { describeOnBothBackends, type BackendWorld } from './backends.js';

/** The world's time: the TestClock in memory, real time on Redis. */
const nowOf = (w: BackendWorld): number => w.clock?.now() ?? Date.now();

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describeOnBothBackends('conformance: metrics', (world) => {
  it('a worker with metrics counts completed and failed jobs (retries count once, at the end)', async () => {
    const w = world();
    const q = w.queue('metrics');
    const before = nowOf(w);
    await q.add('ok', { fail: false });
    await q.add('ok', { fail: false });
    await q.add('bad', { fail: true });
    await q.add('flaky', { fail: 'once' }, { attempts: 2 });
    w.worker(
      'metrics',
      async (job) => {
        if (job.data.fail === true || (job.data.fail === 'once' && job.attemptsMade === 0)) throw new Error('boom');
        return 'done';
      },
      { metrics: { maxDataPoints: 10 } },
    );
    await w.waitFor(async () => (await q.getCompletedCount()) === 3 && (await q.getFailedCount()) === 1, 'all finished');
    const after = nowOf(w);

    const completed = await q.getMetrics('completed');
    expect(completed.meta.count).toBe(3);
    expect(completed.meta.prevTS).toBeGreaterThanOrEqual(before);
    expect(completed.meta.prevTS).toBeLessThanOrEqual(after);
    // Points are per minute: none until a finish in a later minute (a test may straddle one on Redis).
    expect(completed.count).toBe(completed.data.length);
    expect(completed.data.length).toBeLessThanOrEqual(1);
    expect(sum(completed.data)).toBe(completed.meta.prevCount);

    const failed = await q.getMetrics('failed');
    expect(failed.meta).toMatchObject({ count: 1, prevCount: 0 });
    expect(failed.data).toEqual([]);
    expect(failed.count).toBe(0);
  });

  it('without the metrics option nothing is collected', async () => {
    const w = world();
    const q = w.queue('no-metrics');
    await q.add('a', {});
    w.worker('no-metrics', async () => 'ok');
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'completed');
    expect(await q.getMetrics('completed')).toEqual({ meta: { count: 0, prevTS: 0, prevCount: 0 }, data: [], count: 0 });
    expect(await q.getMetrics('failed', 0, 10)).toEqual({ meta: { count: 0, prevTS: 0, prevCount: 0 }, data: [], count: 0 });
  });

  it('exportPrometheusMetrics reports the job counts and the metrics totals', async () => {
    const w = world();
    const q = w.queue('prom"q');
    await q.add('a', {});
    await q.add('b', {});
    await q.add('later', {}, { delay: 60_000 });
    w.worker('prom"q', async (job) => (job.name === 'b' ? Promise.reject(new Error('no')) : 'ok'), { metrics: { maxDataPoints: 5 } });
    await w.waitFor(async () => (await q.getCompletedCount()) === 1 && (await q.getFailedCount()) === 1, 'finished');
    expect(await q.exportPrometheusMetrics({ env: 'test' })).toBe(
      [
        '# HELP bullmq_job_count Number of jobs in the queue by state',
        '# TYPE bullmq_job_count gauge',
        'bullmq_job_count{queue="prom\\"q", state="active", env="test"} 0',
        'bullmq_job_count{queue="prom\\"q", state="completed", env="test"} 1',
        'bullmq_job_count{queue="prom\\"q", state="delayed", env="test"} 1',
        'bullmq_job_count{queue="prom\\"q", state="failed", env="test"} 1',
        'bullmq_job_count{queue="prom\\"q", state="prioritized", env="test"} 0',
        'bullmq_job_count{queue="prom\\"q", state="waiting", env="test"} 0',
        'bullmq_job_count{queue="prom\\"q", state="waiting-children", env="test"} 0',
        '# HELP bullmq_job_completed_total Total number of completed jobs',
        '# TYPE bullmq_job_completed_total counter',
        'bullmq_job_completed_total{queue="prom\\"q", env="test"} 1',
        '# HELP bullmq_job_failed_total Total number of failed jobs',
        '# TYPE bullmq_job_failed_total counter',
        'bullmq_job_failed_total{queue="prom\\"q", env="test"} 1',
      ].join('\n'),
    );
  });

  it('obliterate drops the metrics', async () => {
    const w = world();
    const q = w.queue('metrics-gone');
    await q.add('a', {});
    w.worker('metrics-gone', async () => 'ok', { metrics: { maxDataPoints: 5 } });
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'completed');
    expect((await q.getMetrics('completed')).meta.count).toBe(1);
    await q.pause();
    await q.obliterate();
    expect((await q.getMetrics('completed')).meta).toEqual({ count: 0, prevTS: 0, prevCount: 0 });
  });
});
