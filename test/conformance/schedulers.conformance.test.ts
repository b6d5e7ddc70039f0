import type { Job, JobSchedulerJobOptions } from 'bullmq';
import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';

/** The repeat options a scheduler's iteration carries (BullMQ types them as internal). */
const repeatOf = (job: Job | undefined) => (job?.opts as JobSchedulerJobOptions | undefined)?.repeat;

const millisOf = (jobId: string | undefined): number => Number(String(jobId).split(':').pop());

describeOnBothBackends('conformance: job schedulers', (world) => {
  it('upsertJobScheduler with every: the first iteration waits now, the scheduler reads back with its template', async () => {
    const w = world();
    const q = w.queue('sched-every');
    const job = await q.upsertJobScheduler('tick', { every: 400 }, { name: 'tick-job', data: { n: 1 }, opts: { attempts: 3 } });
    expect(job?.id).toMatch(/^repeat:tick:\d+$/);
    expect(job?.delay).toBe(0);
    expect(job?.name).toBe('tick-job');
    expect(await q.getJobState(job!.id!)).toBe('waiting');
    const stored = await q.getJob(job!.id!);
    expect(stored?.repeatJobKey).toBe('tick');
    expect(stored?.data).toEqual({ n: 1 });
    expect(stored?.opts.attempts).toBe(3);
    expect(repeatOf(stored)).toMatchObject({ every: 400, count: 1 });
    expect(stored?.delay).toBe(0);

    const scheduler = await q.getJobScheduler('tick');
    expect(scheduler).toEqual({
      key: 'tick',
      name: 'tick-job',
      next: millisOf(job!.id),
      iterationCount: 1,
      every: 400,
      offset: millisOf(job!.id) % 400,
      template: { data: { n: 1 }, opts: { attempts: 3 } },
    });
    expect(await q.getJobSchedulersCount()).toBe(1);
    expect(await q.getJobCounts('repeat', 'waiting', 'delayed')).toEqual({ repeat: 1, waiting: 1, delayed: 0 });
    expect(await q.getJobScheduler('missing')).toBeUndefined();
  });

  it('a worker taking an iteration schedules the next one `every` later, with the template each time', async () => {
    const w = world();
    const q = w.queue('sched-run');
    const seen: Job[] = [];
    const first = await q.upsertJobScheduler('beat', { every: 600 }, { name: 'beat', data: { k: 'v' } });
    w.worker('sched-run', async (job) => {
      seen.push(job);
      return repeatOf(job)?.count;
    });
    await w.waitFor(() => seen.length >= 1, 'first iteration');
    // Taking the first iteration scheduled the second.
    await w.waitFor(async () => (await q.getJob(`repeat:beat:${millisOf(first!.id) + 600}`)) !== undefined, 'second iteration');
    await w.advance(600);
    await w.waitFor(() => seen.length >= 2, 'second iteration ran');
    await w.advance(600);
    await w.waitFor(() => seen.length >= 3, 'third iteration ran');
    const offsets = seen.slice(0, 3).map((j) => millisOf(j.id) - millisOf(first!.id));
    expect(offsets.slice(0, 2)).toEqual([0, 600]);
    // +1200, unless a worker on a loaded machine took the second one after +1200 (missed slots are skipped).
    expect(offsets[2] % 600).toBe(0);
    expect(offsets[2]).toBeGreaterThanOrEqual(1200);
    if (w.kind === 'memory') expect(offsets[2]).toBe(1200);
    expect(seen.slice(0, 3).map((j) => [j.name, j.data, j.repeatJobKey, repeatOf(j)])).toEqual([
      ['beat', { k: 'v' }, 'beat', expect.objectContaining({ every: 600, count: 1 })],
      ['beat', { k: 'v' }, 'beat', expect.objectContaining({ every: 600, count: 2 })],
      ['beat', { k: 'v' }, 'beat', expect.objectContaining({ every: 600, count: 3 })],
    ]);
    await w.waitFor(async () => (await q.getCompletedCount()) >= 3, 'three completed');
    expect((await q.getJob(seen[2].id!))?.returnvalue).toBe(3);
    expect((await q.getJobScheduler('beat'))?.iterationCount).toBeGreaterThanOrEqual(4);
  });

  it('limit: the scheduler stops producing after `limit` iterations (and stays listed)', async () => {
    const w = world();
    const q = w.queue('sched-limit');
    let runs = 0;
    await q.upsertJobScheduler('twice', { every: 200, limit: 2 }, { name: 'twice' });
    w.worker('sched-limit', async () => {
      runs++;
    });
    await w.waitFor(() => runs === 1, 'first run');
    await w.advance(200);
    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'second run');
    await w.advance(400);
    expect(runs).toBe(2);
    expect(await q.getDelayedCount()).toBe(0);
    expect(await q.getJobScheduler('twice')).toMatchObject({ key: 'twice', limit: 2, iterationCount: 2 });
  });

  it('upserting an existing scheduler replaces its pending iteration (same slot) and template', async () => {
    const w = world();
    const q = w.queue('sched-upsert');
    const a = await q.upsertJobScheduler('s', { every: 60_000, startDate: Date.now() + 30_000 }, { name: 'v1', data: { v: 1 } });
    expect(await q.getJobState(a!.id!)).toBe('delayed');
    const b = await q.upsertJobScheduler('s', { every: 60_000, startDate: Date.now() + 30_000 }, { name: 'v2', data: { v: 2 } });
    expect(b?.id).toBe(a?.id);
    const delayed = await q.getDelayed();
    expect(delayed.map((j) => [j.id, j.name, j.data])).toEqual([[a!.id, 'v2', { v: 2 }]]);
    expect(await q.getJobScheduler('s')).toMatchObject({ name: 'v2', template: { data: { v: 2 } }, iterationCount: 1 });
    // A new `every` restarts the schedule: the old iteration goes, a new one is computed.
    const c = await q.upsertJobScheduler('s', { every: 120_000 }, { name: 'v3' });
    expect(c?.id).not.toBe(a?.id);
    expect(await q.getJob(a!.id!)).toBeUndefined();
    expect((await q.getJobs(['waiting', 'delayed'])).map((j) => j.id)).toEqual([c!.id]);
    expect(await q.getJobSchedulersCount()).toBe(1);
  });

  it('offset places every iteration at that offset within the interval', async () => {
    const q = world().queue('sched-offset');
    const job = await q.upsertJobScheduler('offset', { every: 60_000, offset: 5_000 });
    expect(millisOf(job!.id) % 60_000).toBe(5_000);
    expect(job?.delay).toBeGreaterThan(0);
    expect(await q.getJobScheduler('offset')).toMatchObject({ every: 60_000, offset: 5_000 });
  });

  it('removeJobScheduler removes the pending delayed iteration (a removed event) and answers false when missing', async () => {
    const w = world();
    const q = w.queue('sched-remove');
    const events = w.queueEvents('sched-remove', { lastEventId: '0-0' });
    await events.waitUntilReady();
    const removed: { jobId: string; prev: string }[] = [];
    events.on('removed', (e) => removed.push(e));
    const job = await q.upsertJobScheduler('r', { every: 60_000, startDate: Date.now() + 30_000 });
    expect(await q.removeJobScheduler('r')).toBe(true);
    expect(await q.getJob(job!.id!)).toBeUndefined();
    expect(await q.getJobSchedulersCount()).toBe(0);
    expect(await q.getJobScheduler('r')).toBeUndefined();
    expect(await q.removeJobScheduler('r')).toBe(false);
    await w.waitFor(() => removed.length === 1, 'removed event');
    expect(removed).toEqual([{ jobId: job!.id, prev: 'delayed' }]);
    // An iteration already waiting is left in place (only a delayed one is deleted).
    const waiting = await q.upsertJobScheduler('w', { every: 60_000 });
    expect(await q.removeJobScheduler('w')).toBe(true);
    expect(await q.getJobState(waiting!.id!)).toBe('waiting');
    expect(await q.remove(waiting!.id!)).toBe(1); // no longer the scheduler's: removable
  });

  it('a stalled iteration goes back to wait and runs again, where a plain job stalled out fails', async () => {
    const w = world();
    const q = w.queue('sched-stall');
    const lockOpts = { lockDuration: 300, stalledInterval: 200, maxStalledCount: 0 };
    const iteration = await q.upsertJobScheduler('s', { every: 3_600_000 });
    const plain = await q.add('plain', {});
    const crashed = w.worker('sched-stall', () => new Promise(() => {}), { ...lockOpts, concurrency: 2 });
    await w.waitFor(async () => (await q.getActiveCount()) === 2, 'both active');
    await crashed.close(true); // no lock renewal any more, the processor never returns
    const ran: string[] = [];
    w.worker('sched-stall', async (job) => {
      ran.push(job.id!);
    }, lockOpts);
    await w.waitFor(async () => (await q.getFailedCount()) === 1 && ran.length === 1, 'recovered', 20_000);
    expect(ran).toEqual([iteration!.id]);
    expect((await q.getJob(plain.id!))?.failedReason).toBe('job stalled more than allowable limit');
    expect(await q.getJobState(iteration!.id!)).toBe('completed');
  });

  it("the scheduler's current iteration cannot be removed directly, survives drain and clean; a plain job can", async () => {
    const w = world();
    const q = w.queue('sched-protect');
    const job = await q.upsertJobScheduler('p', { every: 60_000, startDate: Date.now() + 30_000 });
    await expect(q.remove(job!.id!)).rejects.toThrow(
      `Job ${job!.id} belongs to a job scheduler and cannot be removed directly. removeJob`,
    );
    await expect(q.remove(job!.id!)).rejects.toMatchObject({ code: -8 });
    const plain = await q.add('plain', {}, { delay: 30_000 });
    await q.drain(true);
    expect(await q.getJob(plain.id!)).toBeUndefined();
    expect(await q.getJobState(job!.id!)).toBe('delayed');
    expect(await q.clean(0, 100, 'delayed')).toEqual([]);
    expect(await q.getJobState(job!.id!)).toBe('delayed');
  });

  it('pattern (cron): iterations land on the pattern, one per second', async () => {
    const w = world();
    const q = w.queue('sched-cron');
    const first = await q.upsertJobScheduler('cron', { pattern: '* * * * * *' }, { name: 'cron', data: { c: true } });
    expect(millisOf(first!.id) % 1000).toBe(0);
    expect(first!.delay).toBeLessThanOrEqual(1000);
    expect(['delayed', 'waiting']).toContain(await q.getJobState(first!.id!));
    const scheduler = await q.getJobScheduler('cron');
    expect(scheduler).toMatchObject({ key: 'cron', name: 'cron', pattern: '* * * * * *', next: millisOf(first!.id), iterationCount: 1 });
    const seen: string[] = [];
    w.worker('sched-cron', async (job) => {
      seen.push(job.id!);
    });
    await w.advance(first!.delay);
    await w.waitFor(() => seen.length >= 1, 'first cron run');
    await w.waitFor(async () => (await q.getDelayedCount()) === 1, 'next cron iteration');
    await w.advance(1000);
    await w.waitFor(() => seen.length >= 2, 'second cron run');
    const gap = millisOf(seen[1]) - millisOf(seen[0]);
    expect(gap % 1000).toBe(0); // the next second, or a later one if a loaded machine made the worker late
    expect(gap).toBe(w.kind === 'memory' ? 1000 : Math.max(1000, gap));
    expect(seen[0]).toBe(first!.id);
  });

  it('pattern with immediately: the first iteration waits now; later ones follow the pattern', async () => {
    const w = world();
    const q = w.queue('sched-immediately');
    const job = await q.upsertJobScheduler('yearly', { pattern: '0 0 1 1 *', immediately: true }, { name: 'yearly' });
    expect(job?.delay).toBe(0);
    expect(await q.getJobState(job!.id!)).toBe('waiting');
    let ran = 0;
    w.worker('sched-immediately', async () => {
      ran++;
    });
    await w.waitFor(async () => ran === 1 && (await q.getDelayedCount()) === 1, 'immediate run, next delayed');
    const [next] = await q.getDelayed();
    const nextDate = new Date(millisOf(next.id));
    expect([nextDate.getMonth(), nextDate.getDate(), nextDate.getHours(), nextDate.getMinutes()]).toEqual([0, 1, 0, 0]);
  });

  it('a pattern scheduler reads back with tz and its template options (queue defaults merged) in their public form', async () => {
    const q = world().queue('sched-template', { defaultJobOptions: { removeOnComplete: 10 } });
    const job = await q.upsertJobScheduler(
      'newyear',
      { pattern: '0 0 1 1 *', tz: 'Europe/Paris' },
      { data: { x: 1 }, opts: { keepLogs: 5, priority: 3, telemetry: { omitContext: true } } },
    );
    // The first midnight of a January 1st in Paris after now.
    const next = millisOf(job!.id);
    expect(new Date(next).toLocaleString('en-GB', { timeZone: 'Europe/Paris' })).toMatch(/^01\/01\/\d{4}, 00:00:00$/);
    expect(await q.getJobScheduler('newyear')).toEqual({
      key: 'newyear',
      name: 'newyear',
      next,
      iterationCount: 1,
      tz: 'Europe/Paris',
      pattern: '0 0 1 1 *',
      offset: 0,
      template: { data: { x: 1 }, opts: { keepLogs: 5, removeOnComplete: 10, priority: 3, telemetry: { omitContext: true } } },
    });
    const stored = await q.getJob(job!.id!);
    expect(stored?.opts).toMatchObject({ keepLogs: 5, priority: 3, removeOnComplete: 10, jobId: job!.id, prevMillis: next, delay: stored!.delay });
    expect(repeatOf(stored)).toEqual({ pattern: '0 0 1 1 *', tz: 'Europe/Paris', count: 1 });
  });

  it("each iteration takes a number from the queue's job id counter, as plain jobs do", async () => {
    const q = world().queue('sched-ids');
    await q.upsertJobScheduler('a', { every: 60_000, startDate: Date.now() + 30_000 });
    expect((await q.add('plain', {})).id).toBe('2');
    await q.upsertJobScheduler('b', { every: 1000 });
    expect((await q.add('plain', {})).id).toBe('4');
  });

  it('Queue.add with a repeat option adds one plain job (BullMQ 6 has no legacy repeatable jobs)', async () => {
    const q = world().queue('sched-legacy');
    const job = await q.add('rep', { r: 1 }, { repeat: { every: 1000 } } as never);
    expect(job.id).toBe('1');
    expect(await q.getJobState(job.id!)).toBe('waiting');
    expect(await q.getJobSchedulersCount()).toBe(0);
    expect((await q.getJob(job.id!))?.opts).toMatchObject({ repeat: { every: 1000 } });
  });

  it('QueueEvents see an iteration added, then delayed', async () => {
    const w = world();
    const q = w.queue('sched-events');
    const qe = w.queueEvents('sched-events', { lastEventId: '0-0' }); // from the stream's start: no race with the first read
    await qe.waitUntilReady();
    const seen: string[] = [];
    qe.on('added', ({ jobId, name }) => seen.push(`added ${jobId} ${name}`));
    qe.on('delayed', ({ jobId }) => seen.push(`delayed ${jobId}`));
    qe.on('waiting', ({ jobId }) => seen.push(`waiting ${jobId}`));
    const job = await q.upsertJobScheduler('ev', { every: 60_000, startDate: Date.now() + 30_000 }, { name: 'ev-job' });
    const now = await q.upsertJobScheduler('ev-now', { every: 60_000 }, { name: 'ev-now' });
    await w.waitFor(() => seen.length === 4, `four events, seen ${JSON.stringify(seen)}`);
    expect(seen).toEqual([`added ${job!.id} ev-job`, `delayed ${job!.id}`, `added ${now!.id} ev-now`, `waiting ${now!.id}`]);
  });

  it('when the next slot is already taken by a job, taking an iteration emits duplicated and schedules nothing', async () => {
    const w = world();
    const q = w.queue('sched-dup');
    const qe = w.queueEvents('sched-dup', { lastEventId: '0-0' });
    await qe.waitUntilReady();
    const duplicated: string[] = [];
    qe.on('duplicated', ({ jobId }) => duplicated.push(jobId));
    const first = await q.upsertJobScheduler('d', { every: 60_000 });
    const squatter = await q.add('squatter', {}, { jobId: `repeat:d:${millisOf(first!.id) + 60_000}` });
    const ran: string[] = [];
    w.worker('sched-dup', async (job) => {
      ran.push(job.name);
    });
    await w.waitFor(() => ran.length === 2 && duplicated.length === 1, 'both jobs ran, one duplicated event');
    expect(ran).toEqual(['d', 'squatter']);
    expect(duplicated).toEqual([squatter.id]);
    expect(await q.getDelayedCount()).toBe(0);
    expect(await q.getJobScheduler('d')).toMatchObject({ next: millisOf(first!.id), iterationCount: 1 });
  });

  it('invalid repeat options are refused with BullMQ errors', async () => {
    const q = world().queue('sched-invalid');
    await expect(q.upsertJobScheduler('x', { every: 100, pattern: '* * * * *' })).rejects.toThrow(
      'Both .pattern and .every options are defined for this repeatable job',
    );
    await expect(q.upsertJobScheduler('x', {})).rejects.toThrow('Either .pattern or .every options must be defined for this repeatable job');
    await expect(q.upsertJobScheduler('x', { pattern: '* * * * *', immediately: true, startDate: Date.now() })).rejects.toThrow(
      'Both .immediately and .startDate options are defined for this repeatable job',
    );
    await expect(q.upsertJobScheduler('x', { every: 100, endDate: Date.now() - 1000 })).rejects.toThrow(
      'End date must be greater than current timestamp',
    );
    expect(await q.getJobSchedulersCount()).toBe(0);
  });

  it('obliterate removes schedulers with the jobs', async () => {
    const w = world();
    const q = w.queue('sched-obliterate');
    await q.upsertJobScheduler('o', { every: 60_000 });
    await q.pause();
    await q.obliterate();
    expect(await q.getJobSchedulersCount()).toBe(0);
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });
  });
});

describeOnBothBackends(
  'conformance: job schedulers with endDate',
  (world) => {
    it('endDate: no iteration is scheduled once the end date has passed when one is taken', async () => {
      const w = world();
      const q = w.queue('sched-end');
      const start = Date.now();
      await q.upsertJobScheduler('end', { every: 400, endDate: start + 1000 }, { name: 'end' });
      expect(await q.getJobScheduler('end')).toMatchObject({ endDate: start + 1000 });
      const ran: number[] = [];
      w.worker('sched-end', async (job) => {
        ran.push(millisOf(job.id));
      });
      for (let i = 0; i < 5; i++) await w.advance(400); // well past the end date plus one interval
      await w.waitFor(async () => {
        const c = await q.getJobCounts('delayed', 'waiting', 'active');
        return c.delayed + c.waiting + c.active === 0;
      }, 'the schedule ended');
      // Runs at +0, +400, +800; taking +800 schedules +1200 (before the end date), taking +1200 schedules nothing.
      // (On a loaded machine a late worker on Redis may stop it one run earlier.)
      expect(ran.length).toBeGreaterThanOrEqual(2);
      expect(ran.length).toBeLessThanOrEqual(4);
      expect(ran.slice(1).map((m, i) => m - ran[i])).toEqual(Array(ran.length - 1).fill(400));
      expect(Math.max(...ran)).toBeLessThanOrEqual(start + 1000 + 400);
      await w.advance(800);
      expect(ran.length).toBeLessThanOrEqual(4);
    });

    it('startDate places the first iteration; getJobSchedulers orders by next run', async () => {
      const w = world();
      const q = w.queue('sched-start');
      const soon = await q.upsertJobScheduler('soon', { every: 1_000_000 });
      expect(soon?.delay).toBe(0);
      const later = await q.upsertJobScheduler('later', { every: 10_000, startDate: Date.now() + 400 });
      expect(later?.delay).toBeGreaterThan(0);
      expect(later?.delay).toBeLessThanOrEqual(450); // memory: the clock started a few real ms before Date.now() here
      await q.upsertJobScheduler('far', { every: 10_000, startDate: new Date(Date.now() + 100_000) });
      expect((await q.getJobSchedulers(0, -1, true)).map((s) => s.key)).toEqual(['soon', 'later', 'far']);
      expect((await q.getJobSchedulers()).map((s) => s.key)).toEqual(['far', 'later', 'soon']);
      expect((await q.getJobSchedulers(1, 1, true)).map((s) => s.key)).toEqual(['later']);
      expect((await q.getJobScheduler('later'))?.startDate).toBe(millisOf(later!.id));
      let ran = 0;
      w.worker('sched-start', async (job) => {
        if (job.repeatJobKey === 'later') ran++;
      });
      await w.advance(later!.delay);
      await w.waitFor(() => ran === 1, 'later ran at its start date');
    });
  },
  { memoryClockStart: 'real-time' },
);
