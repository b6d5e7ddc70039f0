import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';
import { eventsOf, gate, recordQueueEvents, recordWorkerEvents } from './support.js';

describeOnBothBackends('conformance: Worker processing, errors and events', (world) => {
  it('Worker events: active (prev waiting), progress, completed (result, prev active), failed (error, prev active), drained', async () => {
    const w = world();
    const q = w.queue('w-events');
    const worker = w.worker('w-events', async (job) => {
      await job.updateProgress(42);
      if (job.name === 'bad') throw new Error('bad job');
      return `${job.name}!`;
    });
    const log: string[] = [];
    worker.on('active', (job, prev) => log.push(`active:${job.name}:${prev}`));
    worker.on('progress', (job, progress) => log.push(`progress:${job.name}:${String(progress)}`));
    worker.on('completed', (job, result, prev) => log.push(`completed:${job.name}:${result}:${prev}`));
    worker.on('failed', (job, err, prev) => log.push(`failed:${job?.name}:${err.message}:${prev}`));
    worker.on('drained', () => log.push('drained'));
    await q.add('good', {});
    await q.add('bad', {});
    await w.waitFor(() => log.includes('failed:bad:bad job:active') && log.at(-1) === 'drained', 'both finished and drained');
    expect(log.filter((l) => l !== 'drained')).toEqual([
      'active:good:waiting',
      'progress:good:42',
      'completed:good:good!:active',
      'active:bad:waiting',
      'progress:bad:42',
      'failed:bad:bad job:active',
    ]);
  });

  it('UnrecoverableError fails the job at once despite attempts left; retries-exhausted is not emitted early', async () => {
    const w = world();
    const { seen } = await recordQueueEvents(w, 'w-unrecoverable', ['failed', 'retries-exhausted', 'delayed']);
    const q = w.queue('w-unrecoverable');
    const job = await q.add('u', {}, { attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    let runs = 0;
    const worker = w.worker('w-unrecoverable', async () => {
      runs++;
      throw new UnrecoverableError('give up');
    });
    const failed: string[] = [];
    worker.on('failed', (j, err) => failed.push(`${j?.id}:${err.name}:${err.message}`));
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 'failed');
    await w.waitFor(() => seen.length >= 1 && failed.length >= 1, "QueueEvents' and the Worker's failed events");
    expect(runs).toBe(1);
    expect(failed).toEqual([`${job.id}:UnrecoverableError:give up`]);
    const stored = (await q.getJob(job.id!))!;
    expect(stored.failedReason).toBe('give up');
    expect(stored.attemptsMade).toBe(1);
    expect(eventsOf(seen)).toEqual(['failed:failedReason=give up,prev=active']);
  });

  it('exponential backoff: each retry is delayed longer, attemptsMade counts, the last attempt completes', async () => {
    const w = world();
    const q = w.queue('w-backoff');
    const job = await q.add('b', {}, { attempts: 3, backoff: { type: 'exponential', delay: 100 } });
    const seenAttempts: number[] = [];
    const startedAt: number[] = [];
    w.worker('w-backoff', async (j) => {
      seenAttempts.push(j.attemptsMade);
      startedAt.push(j.processedOn!); // the store's time (real on Redis, the clock in memory)
      if (j.attemptsMade < 2) throw new Error(`try ${j.attemptsMade}`);
      return 'ok';
    });
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 'completed');
    // 100 ms then 200 ms of backoff between the attempts (at least: Redis adds its own latency).
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(100);
    expect(startedAt[2]! - startedAt[1]!).toBeGreaterThanOrEqual(200);
    const done = (await q.getJob(job.id!))!;
    expect(seenAttempts).toEqual([0, 1, 2]);
    expect(done.attemptsMade).toBe(3);
    expect(done.returnvalue).toBe('ok');
  });

  it('DelayedError after job.moveToDelayed: the job is delayed (no failure, no attempt), then processed again', async () => {
    const w = world();
    const q = w.queue('w-delayed-error');
    const job = await q.add('later', { step: 1 });
    const runs: number[] = [];
    const worker = w.worker('w-delayed-error', async (j, token) => {
      runs.push(j.data.step);
      if (j.data.step === 1) {
        await j.updateData({ step: 2 });
        await j.moveToDelayed(Date.now() + 200, token);
        throw new DelayedError();
      }
      return 'second run';
    });
    const events = recordWorkerEvents(worker, ['failed', 'completed']);
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'delayed', 'delayed');
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 'completed');
    expect(runs).toEqual([1, 2]);
    expect(events).toEqual([`completed:${job.id}`]);
    const done = (await q.getJob(job.id!))!;
    expect(done.attemptsMade).toBe(1);
    expect(done.attemptsStarted).toBe(2);
  });

  it('cancelJob / cancelAllJobs abort the running processors through their signal; the jobs fail with the thrown reason', async () => {
    const w = world();
    const q = w.queue('w-cancel');
    const started: string[] = [];
    const worker = w.worker(
      'w-cancel',
      (job, _token, signal) =>
        new Promise((_resolve, reject) => {
          started.push(job.name);
          signal!.addEventListener('abort', () => reject(new Error(`aborted: ${String(signal!.reason)}`)));
        }),
      { concurrency: 3 },
    );
    const a = await q.add('a', {});
    await q.add('b', {});
    await q.add('c', {});
    await w.waitFor(() => started.length === 3, 'three running');
    expect(worker.cancelJob(a.id!, 'just a')).toBe(true);
    expect(worker.cancelJob('no-such-job')).toBe(false);
    await w.waitFor(async () => (await q.getJobState(a.id!)) === 'failed', 'a failed');
    expect((await q.getJob(a.id!))!.failedReason).toBe('aborted: just a');
    worker.cancelAllJobs('all');
    await w.waitFor(async () => (await q.getFailedCount()) === 3, 'all failed');
    const reasons = (await q.getFailed()).map((j: Job) => `${j.name}:${j.failedReason}`).sort();
    expect(reasons).toEqual(['a:aborted: just a', 'b:aborted: all', 'c:aborted: all']);
  });

  it('worker.pause() waits for the running job and emits paused; resume() emits resumed and processing goes on', async () => {
    const w = world();
    const q = w.queue('w-pause');
    const hold = gate();
    const done: string[] = [];
    const worker = w.worker('w-pause', async (job) => {
      if (job.name === 'first') await hold.promise;
      done.push(job.name);
    });
    const events = recordWorkerEvents(worker, ['paused', 'resumed']);
    await q.add('first', {});
    await w.waitFor(async () => (await q.getActiveCount()) === 1, 'first running');
    const paused = worker.pause();
    hold.open();
    await paused;
    expect(worker.isPaused()).toBe(true);
    expect(done).toEqual(['first']);
    await q.add('second', {});
    await w.advance(200);
    expect(done).toEqual(['first']);
    worker.resume();
    expect(worker.isRunning()).toBe(true);
    await w.waitFor(() => done.length === 2, 'second ran after resume');
    expect(events).toEqual(['paused', 'resumed']);
  });

  it('close() emits closing and closed; a closed Worker takes no more jobs', async () => {
    const w = world();
    const q = w.queue('w-close');
    const seen: string[] = [];
    const worker = w.worker('w-close', async (job) => {
      seen.push(job.name);
    });
    const events = recordWorkerEvents(worker, ['closing', 'closed']);
    await q.add('before', {});
    await w.waitFor(() => seen.length === 1, 'ran');
    await worker.close();
    expect(events).toEqual(['closing:closing queue', 'closed']);
    expect(worker.isRunning()).toBe(false);
    await q.add('after', {});
    await w.advance(200);
    expect(seen).toEqual(['before']);
    expect(await q.getWaitingCount()).toBe(1);
  });

  it('waitUntilFinished resolves with the return value, rejects with the failed reason, and times out after ttl', async () => {
    const w = world();
    const qe = w.queueEvents('w-wait', { lastEventId: '0-0' });
    await qe.waitUntilReady();
    const q = w.queue('w-wait');
    const hold = gate();
    w.worker('w-wait', async (job) => {
      if (job.name === 'slow') await hold.promise;
      if (job.name === 'bad') throw new Error('it failed');
      return { name: job.name };
    });
    const good = await q.add('good', {});
    const bad = await q.add('bad', {});
    const slow = await q.add('slow', {});
    await expect(good.waitUntilFinished(qe)).resolves.toEqual({ name: 'good' });
    await expect(bad.waitUntilFinished(qe)).rejects.toThrow('it failed');
    await expect(slow.waitUntilFinished(qe, 50)).rejects.toThrow(
      `Job wait slow timed out before finishing, no finish notification arrived after 50ms (id=${slow.id})`,
    );
    hold.open();
    await expect(slow.waitUntilFinished(qe)).resolves.toEqual({ name: 'slow' });
  });
});
