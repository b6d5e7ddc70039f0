import { RateLimitError, Worker, type Job } from 'bullmq';
import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';

/** Windows are short: on Redis they pass in real time. */
const WINDOW = 500;
/**
 * On Redis, `processedOn` is stamped by the client when it sends moveToActive, while the window is timed by the
 * server: a start can read a few ms earlier than the window's end. Without a limit, starts are ~0 ms apart.
 */
const EARLIEST_NEXT_WINDOW = WINDOW - 25;

describeOnBothBackends('conformance: rate limiting', (world, kind) => {
  it('worker limiter: at most `max` jobs per window, the rest wait for the next window', async () => {
    const w = world();
    const q = w.queue('limited');
    for (let i = 1; i <= 5; i++) await q.add(`j${i}`, { i });
    const order: string[] = [];
    w.worker('limited', async (job) => void order.push(job.name), { limiter: { max: 2, duration: WINDOW } });

    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'first window done');
    expect(await q.getJobCounts('waiting', 'active', 'completed')).toEqual({ waiting: 3, active: 0, completed: 2 });
    const ttl = await q.getRateLimitTtl(2);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW);
    // A max above the count taken so far is not limited.
    expect(await q.getRateLimitTtl(3)).toBe(0);

    await w.waitFor(async () => (await q.getCompletedCount()) === 5, 'all done');
    expect(order).toEqual(['j1', 'j2', 'j3', 'j4', 'j5']);
    const byName = new Map((await q.getJobs(['completed'])).map((j) => [j.name, j.processedOn!] as const));
    // j3 opens the second window: it cannot start before the first window (opened by j1) ended.
    expect(byName.get('j3')! - byName.get('j1')!).toBeGreaterThanOrEqual(EARLIEST_NEXT_WINDOW);
    expect(byName.get('j5')! - byName.get('j3')!).toBeGreaterThanOrEqual(EARLIEST_NEXT_WINDOW);
  });

  it('the limit holds across a worker\'s concurrency: only `max` jobs start per window', async () => {
    const w = world();
    const q = w.queue('concurrent');
    for (let i = 1; i <= 4; i++) await q.add(`c${i}`, {});
    w.worker('concurrent', async () => 'ok', { concurrency: 4, limiter: { max: 2, duration: WINDOW } });
    await w.waitFor(async () => (await q.getCompletedCount()) === 4, 'all done');
    const starts = (await q.getJobs(['completed'])).map((j) => j.processedOn!).sort((a, b) => a - b);
    expect(starts[2] - starts[0]).toBeGreaterThanOrEqual(EARLIEST_NEXT_WINDOW);
    expect(starts[3] - starts[1]).toBeGreaterThanOrEqual(EARLIEST_NEXT_WINDOW);
  });

  it('global rate limit: setGlobalRateLimit / getGlobalRateLimit / removeGlobalRateLimit and the limit it puts on every worker', async () => {
    const w = world();
    const q = w.queue('global');
    expect(await q.getGlobalRateLimit()).toBeNull();
    expect(await q.getRateLimitTtl()).toBe(-2); // no limit, no key: the raw PTTL
    await q.setGlobalRateLimit(1, WINDOW);
    expect(await q.getGlobalRateLimit()).toEqual({ max: 1, duration: WINDOW });
    expect(await q.getRateLimitTtl()).toBe(0); // a global max, nothing taken yet

    for (let i = 1; i <= 3; i++) await q.add(`g${i}`, {});
    w.worker('global', async () => 'ok'); // no limiter option of its own
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'first job');
    expect(await q.getJobCounts('waiting', 'completed')).toEqual({ waiting: 2, completed: 1 });
    const ttl = await q.getRateLimitTtl();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW);

    await w.waitFor(async () => (await q.getCompletedCount()) === 3, 'all done');
    const jobs = await q.getJobs(['completed']);
    const at = new Map(jobs.map((j) => [j.name, j.processedOn!] as const));
    expect(at.get('g2')! - at.get('g1')!).toBeGreaterThanOrEqual(EARLIEST_NEXT_WINDOW);

    await q.removeGlobalRateLimit();
    expect(await q.getGlobalRateLimit()).toBeNull();
  });

  it('the global max wins over the worker limiter max; the worker duration wins over the global duration', async () => {
    const w = world();
    const q = w.queue('both');
    await q.setGlobalRateLimit(1, 60_000);
    for (let i = 1; i <= 3; i++) await q.add(`b${i}`, {});
    w.worker('both', async () => 'ok', { limiter: { max: 10, duration: WINDOW } });
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'first job');
    expect(await q.getWaitingCount()).toBe(2); // max 1 (global), not 10 (worker)
    const ttl = await q.getRateLimitTtl();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW); // the worker's window, not the global 60 s
    await w.waitFor(async () => (await q.getCompletedCount()) === 3, 'all done');
  });

  it('worker.rateLimit(ms) + RateLimitError: the job goes back to wait untouched and runs again after the window', async () => {
    const w = world();
    const q = w.queue('manual');
    const qe = w.queueEvents('manual', { lastEventId: '0-0' }); // from the stream's start: no event missed
    await qe.waitUntilReady();
    const waitingPrev: (string | undefined)[] = [];
    qe.on('waiting', ({ prev }) => void waitingPrev.push(prev));
    const job = await q.add('call-api', { n: 1 });
    let calls = 0;
    const failed: string[] = [];
    const worker: Worker = w.worker(
      'manual',
      async () => {
        calls += 1;
        if (calls === 1) {
          await worker.rateLimit(WINDOW);
          throw Worker.RateLimitError();
        }
        return 'done';
      },
      { limiter: { max: 100, duration: 10_000 } },
    );
    worker.on('failed', (j) => failed.push(String(j?.id)));

    await w.waitFor(async () => calls === 1 && (await q.getWaitingCount()) === 1, 'job back in wait');
    expect(await job.getState()).toBe('waiting');
    const ttl = await q.getRateLimitTtl();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW);
    const overAnyMax = await q.getRateLimitTtl(100); // the manual limit is over any max
    expect(overAnyMax).toBeGreaterThan(0);
    expect(overAnyMax).toBeLessThanOrEqual(ttl);

    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'job completed on its second start');
    const done = (await q.getJob(job.id!))!;
    expect(done.returnvalue).toBe('done');
    expect(done.attemptsStarted).toBe(2);
    expect(done.attemptsMade).toBe(1); // the rate-limited start is not a failed attempt
    expect(failed).toEqual([]);
    await w.waitFor(() => waitingPrev.includes('active'), 'waiting event from active');
  });

  it('RateLimitError on a worker without a limiter: that worker still waits out the window before taking the job again', async () => {
    const w = world();
    const q = w.queue('nolimiter');
    await q.add('call', {});
    const starts: number[] = [];
    const worker: Worker = w.worker('nolimiter', async (job) => {
      starts.push(job.processedOn!);
      if (starts.length === 1) {
        await worker.rateLimit(WINDOW);
        throw Worker.RateLimitError();
      }
      return 'ok';
    });
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'job completed');
    expect(starts).toHaveLength(2);
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(EARLIEST_NEXT_WINDOW);
  });

  it('RateLimitError is BullMQ\'s error class with its fixed message', () => {
    const err = Worker.RateLimitError();
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.message).toBe('bullmq:rateLimitExceeded');
  });

  it('queue.rateLimit / getRateLimitTtl / removeRateLimitKey, and the errors for a bad expire time', async () => {
    const w = world();
    const q = w.queue('keys');
    expect(await q.removeRateLimitKey()).toBe(0);
    await q.rateLimit(WINDOW);
    const ttl = await q.getRateLimitTtl();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW);
    const withMax = await q.getRateLimitTtl(5);
    expect(withMax).toBeGreaterThan(0);
    expect(withMax).toBeLessThanOrEqual(ttl);
    expect(await q.removeRateLimitKey()).toBe(1);
    expect(await q.getRateLimitTtl()).toBe(-2);
    expect(await q.getRateLimitTtl(5)).toBe(0);

    await expect(q.rateLimit(0)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(q.rateLimit(-5)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(q.rateLimit(1.5)).rejects.toThrow('ERR value is not an integer or out of range');

    await q.rateLimit(100);
    await w.advance(150);
    expect(await q.getRateLimitTtl()).toBe(-2); // expired with the window
  });

  it('a manual limit holds back a worker with a limiter until it expires', async () => {
    const w = world();
    const q = w.queue('held');
    await q.rateLimit(WINDOW);
    await q.add('h', {});
    w.worker('held', async () => 'ok', { limiter: { max: 5, duration: 1000 } });
    await w.advance(WINDOW / 4);
    expect(await q.getJobCounts('waiting', 'completed')).toEqual({ waiting: 1, completed: 0 });
    await w.waitFor(async () => (await q.getCompletedCount()) === 1, 'job done after the window');
  });

  it('getNextJob (manual fetching) answers no job while the window is full', async () => {
    const w = world();
    const q = w.queue('fetch');
    await q.add('f1', {});
    await q.add('f2', {});
    const worker = w.worker('fetch', null, { limiter: { max: 1, duration: WINDOW } });
    const first = await worker.getNextJob('tok-1', { block: false });
    expect(first?.name).toBe('f1');
    expect(await worker.getNextJob('tok-2', { block: false })).toBeUndefined();
    expect(await q.getJobCounts('waiting', 'active')).toEqual({ waiting: 1, active: 1 });
    await w.advance(WINDOW + 50);
    const second: Job | undefined = await worker.getNextJob('tok-3', { block: false });
    expect(second?.name).toBe('f2');
    await first!.moveToCompleted('ok', 'tok-1', false);
    await second!.moveToCompleted('ok', 'tok-3', false);
  });

  it('a rate-limited prioritized job goes back in front of its priority', async () => {
    const w = world();
    const q = w.queue('prio');
    const a = await q.add('a', {}, { priority: 5 });
    await q.add('b', {}, { priority: 5 });
    const worker = w.worker('prio', null);
    const taken = await worker.getNextJob('tok-a', { block: false });
    expect(taken?.id).toBe(a.id);
    await taken!.moveToWait('tok-a');
    expect(await a.getState()).toBe('prioritized');
    const again = await worker.getNextJob('tok-a2', { block: false });
    expect(again?.id).toBe(a.id);
    await again!.moveToCompleted('ok', 'tok-a2', false);
  });

  it.skipIf(kind === 'memory')(
    'job.moveToWait returns the limiter\'s milliseconds left (memory: returns 0, so the Worker waits for the window on the store\'s clock instead of sleeping it in real time)',
    async () => {
      const w = world();
      const q = w.queue('mtw');
      await q.add('m', {});
      const worker = w.worker('mtw', null, { limiter: { max: 10, duration: 10_000 } });
      const job = await worker.getNextJob('tok', { block: false });
      await q.rateLimit(WINDOW);
      const left = await job!.moveToWait('tok');
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(WINDOW);
    },
  );
});
