import { expect, it } from 'vitest';
import { describeOnBothBackends } from './backends.js';
import { eventsOf, recordQueueEvents } from './support.js';

/** Short lock and stalled-check times so a crashed Worker's job is recovered within about a second on Redis. */
const fast = { lockDuration: 300, stalledInterval: 150 };

describeOnBothBackends('conformance: stalled jobs recovered by the Worker’s own stalled check', (world) => {
  it("a force-closed Worker's job stalls: the rescuing Worker emits 'stalled' (jobId, 'active'), QueueEvents 'stalled', and runs it again", async () => {
    const w = world();
    const { seen } = await recordQueueEvents(w, 'stall', ['stalled']);
    const q = w.queue('stall');
    const crashed = w.worker('stall', () => new Promise(() => undefined), fast);
    const job = await q.add('victim', {});
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'active', 'taken by the first worker');
    await crashed.close(true); // no graceful finish, no more lock renewal: the lock runs out

    const ran: string[] = [];
    const rescuer = w.worker('stall', async (j) => {
      ran.push(`${j.name}:${j.attemptsStarted}:${j.stalledCounter}`);
      return 'rescued';
    }, fast);
    const stalled: string[] = [];
    rescuer.on('stalled', (jobId, prev) => stalled.push(`${jobId}:${prev}`));
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 'completed by the rescuer');
    expect(stalled).toEqual([`${job.id}:active`]);
    expect(ran).toEqual(['victim:2:1']);
    await w.waitFor(() => seen.length === 1, 'QueueEvents stalled');
    expect(eventsOf(seen)).toEqual(['stalled']);
    expect(seen[0]!.args.jobId).toBe(job.id);
  });

  it('maxStalledCount 0: the stalled job fails with "job stalled more than allowable limit" and its processor never runs again', async () => {
    const w = world();
    const q = w.queue('stall-max');
    const crashed = w.worker('stall-max', () => new Promise(() => undefined), fast);
    const job = await q.add('doomed', {});
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'active', 'taken');
    await crashed.close(true);
    let runs = 0;
    const rescuer = w.worker('stall-max', async () => {
      runs++;
    }, { ...fast, maxStalledCount: 0 });
    const failed: string[] = [];
    rescuer.on('failed', (j, err) => failed.push(`${j?.id}:${err.message}`));
    // The Worker emits 'failed' after its moveToFailed reply; another connection can see the state a moment earlier.
    await w.waitFor(() => failed.length > 0, "the rescuer's 'failed' event");
    expect(await q.getJobState(job.id!)).toBe('failed');
    expect(failed).toEqual([`${job.id}:job stalled more than allowable limit`]);
    expect(runs).toBe(0);
    expect((await q.getJob(job.id!))!.failedReason).toBe('job stalled more than allowable limit');
  });

  it('a running Worker renews its locks: a job longer than lockDuration never stalls', async () => {
    const w = world();
    const q = w.queue('stall-renew');
    // Sleeps longer than lockDuration: real time on Redis, clock time in memory (the test's waitFor moves the clock).
    const sleep = (ms: number) => (w.clock ? w.clock.sleep(ms) : new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const worker = w.worker('stall-renew', async () => {
      await sleep(800);
      return 'finished';
    }, fast);
    const stalled: string[] = [];
    worker.on('stalled', (id) => stalled.push(id));
    const job = await q.add('long', {});
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 'completed');
    expect(stalled).toEqual([]);
    expect((await q.getJob(job.id!))!.attemptsStarted).toBe(1);
  });

  it('a Worker with skipStalledCheck recovers nothing', async () => {
    const w = world();
    const q = w.queue('stall-skip');
    const crashed = w.worker('stall-skip', () => new Promise(() => undefined), fast);
    const job = await q.add('left', {});
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'active', 'taken');
    await crashed.close(true);
    const other = w.worker('stall-skip', async () => undefined, { ...fast, skipStalledCheck: true });
    const stalled: string[] = [];
    other.on('stalled', (id) => stalled.push(id));
    await w.advance(1000);
    expect(stalled).toEqual([]);
    expect(await q.getJobState(job.id!)).toBe('active');
  });
});
