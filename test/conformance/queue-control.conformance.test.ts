import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';
import { gate } from './support.js';

describeOnBothBackends('conformance: Queue control and getters', (world) => {
  it('getJobs by state, ranges and asc; counts by type and per priority', async () => {
    const w = world();
    const q = w.queue('getters');
    for (const n of [1, 2, 3, 4]) await q.add(`w${n}`, {});
    await q.add('p1', {}, { priority: 1 });
    await q.add('p2', {}, { priority: 2 });
    await q.add('d', {}, { delay: 60_000 });
    const names = (jobs: { name: string }[]) => jobs.map((j) => j.name);
    expect(names(await q.getJobs(['waiting']))).toEqual(['w4', 'w3', 'w2', 'w1']);
    expect(names(await q.getJobs(['waiting'], 0, -1, true))).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(names(await q.getJobs(['waiting'], 1, 2))).toEqual(['w3', 'w2']);
    expect(names(await q.getJobs(['waiting'], 1, 2, true))).toEqual(['w2', 'w3']);
    expect(names(await q.getWaiting())).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(names(await q.getPrioritized())).toEqual(['p1', 'p2']);
    expect(names(await q.getDelayed())).toEqual(['d']);
    expect(await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed')).toEqual({
      waiting: 4,
      prioritized: 2,
      delayed: 1,
      active: 0,
      completed: 0,
      failed: 0,
    });
    expect(await q.getJobCountByTypes('waiting', 'prioritized')).toBe(6);
    expect(await q.getWaitingCount()).toBe(4);
    expect(await q.count()).toBe(7); // waiting + paused + delayed + prioritized + waiting-children
    expect(await q.getCountsPerPriority([0, 1, 2, 3])).toEqual({ 0: 4, 1: 1, 2: 1, 3: 0 });
  });

  it('pause/resume: isPaused, nothing is fetched while paused, paused jobs count as waiting', async () => {
    const w = world();
    const q = w.queue('pause');
    await q.pause();
    expect(await q.isPaused()).toBe(true);
    await q.add('a', {});
    const seen: string[] = [];
    w.worker('pause', async (job) => {
      seen.push(job.name);
    });
    await w.advance(200);
    expect(seen).toEqual([]);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    await q.resume();
    expect(await q.isPaused()).toBe(false);
    await w.waitFor(() => seen.length === 1, 'ran after resume');
  });

  it('drain removes waiting and prioritized jobs (delayed too with drain(true)); active jobs stay', async () => {
    const w = world();
    const q = w.queue('drain');
    const hold = gate();
    w.worker('drain', () => hold.promise);
    const running = await q.add('running', {});
    await w.waitFor(async () => (await q.getActiveCount()) === 1, 'one active');
    await q.add('w', {});
    await q.add('p', {}, { priority: 1 });
    await q.add('d', {}, { delay: 60_000 });
    await q.drain();
    expect(await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active')).toEqual({ waiting: 0, prioritized: 0, delayed: 1, active: 1 });
    await q.drain(true);
    expect(await q.getJobCounts('waiting', 'prioritized', 'delayed', 'active')).toEqual({ waiting: 0, prioritized: 0, delayed: 0, active: 1 });
    hold.open();
    await w.waitFor(async () => (await q.getJobState(running.id!)) === 'completed', 'the active job completed');
  });

  it('clean: by state, grace and limit; emits the cleaned event with the removed ids; locked jobs are kept', async () => {
    const w = world();
    const q = w.queue('clean');
    const cleaned: [string[], string][] = [];
    q.on('cleaned', (ids, type) => cleaned.push([ids, type]));
    w.worker('clean', async (job) => {
      if (job.name.startsWith('bad')) throw new Error('bad');
    });
    for (const name of ['ok1', 'ok2', 'ok3', 'bad1']) await q.add(name, {});
    await w.waitFor(async () => (await q.getCompletedCount()) === 3 && (await q.getFailedCount()) === 1, 'all finished');
    expect(await q.clean(60_000, 0, 'completed')).toEqual([]); // younger than the grace
    await w.advance(300);
    const two = await q.clean(100, 2, 'completed');
    expect(two).toHaveLength(2);
    expect(await q.getCompletedCount()).toBe(1);
    expect(await q.clean(100, 0, 'failed')).toHaveLength(1);
    expect(cleaned.map(([ids, type]) => [ids.length, type])).toEqual([
      [0, 'completed'],
      [2, 'completed'],
      [1, 'failed'],
    ]);
    expect(cleaned[1]![0]).toEqual(two);
  });

  it('obliterate: refused with active jobs unless forced; removes every job of the queue', async () => {
    const w = world();
    const q = w.queue('obliterate');
    const hold = gate();
    const worker = w.worker('obliterate', () => hold.promise);
    await q.add('active', {});
    await w.waitFor(async () => (await q.getActiveCount()) === 1, 'one active');
    await q.add('w', {});
    await q.add('d', {}, { delay: 60_000 });
    await expect(q.obliterate()).rejects.toThrow('Cannot obliterate queue with active jobs');
    await q.obliterate({ force: true });
    expect(await q.getJobCounts('waiting', 'delayed', 'active')).toEqual({ waiting: 0, delayed: 0, active: 0 });
    expect(await q.getJobs()).toEqual([]);
    worker.on('error', () => undefined); // the forced job's completion finds no job any more
    hold.open();
  });

  it('retryJobs moves failed (or completed) jobs back to wait; promoteJobs promotes every delayed job', async () => {
    const w = world();
    const q = w.queue('bulk-retry');
    let failing = true;
    const runs: string[] = [];
    w.worker('bulk-retry', async (job) => {
      runs.push(job.name);
      if (failing) throw new Error('nope');
    });
    await q.add('a', {});
    await q.add('b', {});
    await w.waitFor(async () => (await q.getFailedCount()) === 2, 'both failed');
    failing = false;
    await q.retryJobs({ state: 'failed' });
    await w.waitFor(async () => (await q.getCompletedCount()) === 2, 'both completed');
    expect(runs.sort()).toEqual(['a', 'a', 'b', 'b']);
    await q.retryJobs({ state: 'completed' });
    await w.waitFor(async () => runs.length === 6, 'completed jobs ran again');
    await q.add('d1', {}, { delay: 60_000 });
    await q.add('d2', {}, { delay: 120_000 });
    await q.promoteJobs();
    await w.waitFor(async () => (await q.getCompletedCount()) === 4, 'promoted jobs ran');
    expect(await q.getDelayedCount()).toBe(0);
  });

  it('getWorkers / getWorkersCount / getQueueEvents list the live Workers and QueueEvents by client name', async () => {
    const w = world();
    const q = w.queue('clients');
    expect(await q.getWorkers()).toEqual([]);
    const named = w.worker('clients', async () => undefined, { name: 'alpha' });
    const unnamed = w.worker('clients', async () => undefined);
    w.worker('other-queue', async () => undefined);
    await named.waitUntilReady();
    await unnamed.waitUntilReady();
    const qe = w.queueEvents('clients');
    await qe.waitUntilReady();
    const base = `${w.opts.prefix}:${Buffer.from('clients').toString('base64')}`; // BullMQ's client name of the queue
    await w.waitFor(async () => (await q.getWorkersCount()) === 2 && (await q.getQueueEvents()).length === 1, 'two workers and one QueueEvents listed');
    const workers = await q.getWorkers();
    expect(workers.map((c) => c.rawname).sort()).toEqual([base, `${base}:w:alpha`].sort());
    expect(workers.every((c) => c.name === 'clients')).toBe(true);
    expect((await q.getQueueEvents()).map((c) => [c.name, c.rawname])).toEqual([['clients', `${base}:qe`]]);
    await named.close();
    await qe.close();
    await w.waitFor(async () => (await q.getWorkersCount()) === 1 && (await q.getQueueEvents()).length === 0, 'closed ones gone');
    expect((await q.getWorkers()).map((c) => c.rawname)).toEqual([base]);
  });
});
