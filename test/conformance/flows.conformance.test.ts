import { UnrecoverableError, WaitingChildrenError, type Job } from 'bullmq';
import { expect, it } from 'vitest';
import { describeOnBothBackends, type BackendWorld } from './backends.js';

/** The Redis key of a job, as BullMQ names children and parents: `<prefix>:<queue>:<id>`. */
const keyOf = (w: BackendWorld, queue: string, id: string | undefined) => `${w.opts.prefix}:${queue}:${id}`;
const parentRef = (w: BackendWorld, queue: string, id: string | undefined) => ({ id: id!, queue: `${w.opts.prefix}:${queue}` });
const errorOf = async (p: Promise<unknown>) => p.then(() => undefined, (err: Error & { code?: number }) => err);

describeOnBothBackends('conformance: flows', (world) => {
  it('FlowProducer.add: the parent waits for its children (another queue), then sees their results', async () => {
    const w = world();
    const parents = w.queue('fl-report');
    const steps = w.queue('fl-steps');
    const tree = await w.flowProducer().add({
      name: 'report',
      queueName: 'fl-report',
      data: { title: 'r' },
      children: [
        { name: 'a', queueName: 'fl-steps', data: { n: 1 } },
        { name: 'b', queueName: 'fl-steps', data: { n: 2 } },
      ],
    });
    const parentId = tree.job.id!;
    expect(tree.children?.map((c) => c.job.name).sort()).toEqual(['a', 'b']);
    expect(await tree.job.getState()).toBe('waiting-children');
    expect(await parents.getWaitingChildrenCount()).toBe(1);
    expect((await parents.getWaitingChildren()).map((j) => j.id)).toEqual([parentId]);
    expect(await parents.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 0, 'waiting-children': 1 });
    expect(await steps.getWaitingCount()).toBe(2);
    const child = (await steps.getJob(tree.children![0].job.id!))!;
    expect(child.parentKey).toBe(keyOf(w, 'fl-report', parentId));
    expect(child.parent).toEqual({ id: parentId, queueKey: `${w.opts.prefix}:fl-report` });
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 2, ignored: 0, failed: 0 });

    const order: string[] = [];
    w.worker('fl-steps', async (job) => {
      order.push(job.name);
      return job.data.n * 10;
    });
    let seenByParent: Record<string, unknown> | undefined;
    w.worker('fl-report', async (job) => {
      order.push(job.name);
      seenByParent = await job.getChildrenValues();
      return 'done';
    });
    await w.waitFor(async () => (await parents.getCompletedCount()) === 1, 'parent completed');
    expect(order.slice(-1)).toEqual(['report']);
    const ids = tree.children!.map((c) => c.job.id!);
    const byName = Object.fromEntries(tree.children!.map((c) => [c.job.name, keyOf(w, 'fl-steps', c.job.id)]));
    expect(seenByParent).toEqual({ [byName.a]: 10, [byName.b]: 20 });
    const parent = (await parents.getJob(parentId))!;
    expect(parent.returnvalue).toBe('done');
    expect(await parent.getDependenciesCount()).toEqual({ processed: 2, unprocessed: 0, ignored: 0, failed: 0 });
    const deps = await parent.getDependencies();
    expect(deps.unprocessed).toEqual([]);
    expect(deps.failed).toEqual([]);
    expect(deps.ignored).toEqual({});
    expect(deps.processed).toEqual({ [keyOf(w, 'fl-steps', ids[0])]: expect.any(Number), [keyOf(w, 'fl-steps', ids[1])]: expect.any(Number) });
  });

  it('getFlow returns the tree; getDependencies pages by type; Queue.getDependencies lists pending and processed children', async () => {
    const w = world();
    const q = w.queue('fl-tree');
    const flow = w.flowProducer();
    const added = await flow.add({
      name: 'root',
      queueName: 'fl-tree',
      opts: { jobId: 'root' },
      children: [
        { name: 'mid', queueName: 'fl-tree', opts: { jobId: 'mid' }, children: [{ name: 'leaf', queueName: 'fl-tree', opts: { jobId: 'leaf' } }] },
        { name: 'side', queueName: 'fl-tree', opts: { jobId: 'side' } },
      ],
    });
    expect(added.job.id).toBe('root');
    const got = (await flow.getFlow({ id: 'root', queueName: 'fl-tree' }))!;
    expect(got.job.name).toBe('root');
    const names = got.children!.map((c) => c.job.name).sort();
    expect(names).toEqual(['mid', 'side']);
    const mid = got.children!.find((c) => c.job.name === 'mid')!;
    expect(mid.children!.map((c) => c.job.id)).toEqual(['leaf']);
    expect(await mid.job.getState()).toBe('waiting-children');
    const shallow = (await flow.getFlow({ id: 'root', queueName: 'fl-tree', depth: 1 }))!;
    expect(shallow.children).toBeUndefined();

    const root = (await q.getJob('root'))!;
    const paged = await root.getDependencies({ unprocessed: { count: 5 }, processed: {}, failed: {} });
    expect({ ...paged, unprocessed: paged.unprocessed?.sort() }).toEqual({
      processed: {},
      nextProcessedCursor: 0,
      unprocessed: [keyOf(w, 'fl-tree', 'mid'), keyOf(w, 'fl-tree', 'side')],
      nextUnprocessedCursor: 0,
      failed: [],
      nextFailedCursor: 20,
    });
    expect(await root.getDependenciesCount({ unprocessed: true })).toEqual({ unprocessed: 2 });

    w.worker('fl-tree', async (job) => (job.id === 'leaf' ? { leaf: true } : job.id === 'side' ? 'side' : undefined), {
      concurrency: 1,
    });
    await w.waitFor(async () => (await q.getJobState('mid')) === 'completed', 'mid completed');
    await w.waitFor(async () => (await q.getJobState('root')) === 'completed', 'root completed');
    const pending = await q.getDependencies('root', 'pending', 0, -1);
    expect(pending).toEqual({ items: [], jobs: [], total: 0 });
    const processed = await q.getDependencies('mid', 'processed', 0, -1);
    expect(processed.total).toBe(1);
    expect(processed.items).toEqual([{ id: keyOf(w, 'fl-tree', 'leaf'), v: { leaf: true } }]);
    expect(processed.jobs?.map((j) => [j.id, j.name, j.returnvalue])).toEqual([[undefined, 'leaf', JSON.stringify({ leaf: true })]]);
  });

  it('Queue.getDependencies of pending children fetches the child jobs', async () => {
    const w = world();
    const q = w.queue('fl-pending');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-pending',
      opts: { jobId: 'p' },
      children: [{ name: 'c1', queueName: 'fl-pending', data: { x: 1 }, opts: { jobId: 'c1' } }],
    });
    const pending = await q.getDependencies('p', 'pending', 0, -1);
    expect(pending.total).toBe(1);
    expect(pending.items).toEqual([{ id: keyOf(w, 'fl-pending', 'c1') }]);
    // The jobs are read from the job hashes, which hold no id.
    expect(pending.jobs).toEqual([
      {
        name: 'c1',
        data: '{"x":1}',
        opts: { attempts: 0, jobId: 'c1', parent: parentRef(w, 'fl-pending', 'p') },
        progress: 0,
        delay: 0,
        priority: 0,
        timestamp: expect.any(Number),
        attemptsStarted: 0,
        attemptsMade: 0,
        stalledCounter: 0,
        parentKey: keyOf(w, 'fl-pending', 'p'),
        parent: { id: 'p', queueKey: `${w.opts.prefix}:fl-pending` },
      },
    ]);
  });

  it('events: the parent emits waiting-children when added, then waiting (prev waiting-children) when its last child completes', async () => {
    const w = world();
    const q = w.queue('fl-events');
    const qe = w.queueEvents('fl-events', { lastEventId: '0-0' });
    await qe.waitUntilReady();
    const seen: string[] = [];
    for (const name of ['added', 'waiting', 'waiting-children', 'active', 'completed'] as const) {
      qe.on(name as 'waiting', (args: { jobId: string; prev?: string }) => {
        if (args.jobId === 'p') seen.push(args.prev ? `${name}<${args.prev}` : name);
      });
    }
    await w.flowProducer().add({ name: 'p', queueName: 'fl-events', opts: { jobId: 'p' }, children: [{ name: 'c', queueName: 'fl-events' }] });
    w.worker('fl-events', async () => 'ok');
    await w.waitFor(async () => (await q.getJobState('p')) === 'completed', 'parent completed');
    await w.waitFor(() => seen.includes('completed<active'), 'completed event');
    expect(seen).toEqual(['added', 'waiting-children', 'waiting<waiting-children', 'active<waiting', 'completed<active']);
  });

  it('failParentOnFailure: a failed child fails its parent with "child <key> failed"', async () => {
    const w = world();
    const q = w.queue('fl-fpof');
    const tree = await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-fpof',
      opts: { jobId: 'p' },
      children: [
        { name: 'bad', queueName: 'fl-fpof', opts: { jobId: 'bad', failParentOnFailure: true } },
        { name: 'slow', queueName: 'fl-fpof', opts: { jobId: 'slow', delay: 60_000 } },
      ],
    });
    expect(tree.job.id).toBe('p');
    let parentRan = false;
    const failedErrors: Record<string, string> = {};
    const worker = w.worker('fl-fpof', async (job) => {
      if (job.name === 'bad') throw new Error('boom');
      if (job.name === 'p') parentRan = true;
      return 'ok';
    });
    worker.on('failed', (job, err) => {
      if (job) failedErrors[job.id!] = `${err.constructor.name}: ${err.message}`;
    });
    await w.waitFor(async () => (await q.getJobState('p')) === 'failed', 'parent failed');
    const parent = (await q.getJob('p'))!;
    expect(parent.failedReason).toBe(`child ${keyOf(w, 'fl-fpof', 'bad')} failed`);
    expect(parentRan).toBe(false);
    await w.waitFor(() => failedErrors.p !== undefined, 'worker failed event');
    expect(failedErrors).toEqual({ bad: 'Error: boom', p: `UnrecoverableError: child ${keyOf(w, 'fl-fpof', 'bad')} failed` });
    expect(await parent.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 1, ignored: 0, failed: 1 });
    expect((await parent.getDependencies()).failed).toEqual([keyOf(w, 'fl-fpof', 'bad')]);
  });

  it('failParentOnFailure reaches a parent already released to delayed: it fails at once', async () => {
    const w = world();
    const q = w.queue('fl-fpof-delayed');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-fpof-delayed',
      opts: { jobId: 'p', delay: 500 },
      children: [
        { name: 'first', queueName: 'fl-fpof-delayed', opts: { jobId: 'first', continueParentOnFailure: true } },
        { name: 'second', queueName: 'fl-fpof-delayed', opts: { jobId: 'second', failParentOnFailure: true } },
      ],
    });
    const worker = w.worker('fl-fpof-delayed', async (job) => {
      if (job.name === 'p') return 'parent ran';
      if (job.name === 'first') {
        // The first failure releases the parent (continueParentOnFailure) into delayed.
        throw new Error('first broke');
      }
      await w.waitFor(async () => (await q.getJobState('p')) === 'delayed', 'parent delayed');
      throw new Error('second broke');
    }, { autorun: false });
    worker.run();
    await w.waitFor(async () => (await q.getJobState('p')) === 'failed', 'parent failed');
    const parent = (await q.getJob('p'))!;
    expect(parent.failedReason).toBe(`child ${keyOf(w, 'fl-fpof-delayed', 'second')} failed`);
    expect(parent.delay).toBe(0);
    expect(await parent.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 0, ignored: 1, failed: 1 });
  });

  it('ignoreDependencyOnFailure / removeDependencyOnFailure: the parent runs; ignored failures are kept by child key', async () => {
    const w = world();
    const q = w.queue('fl-idof');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-idof',
      opts: { jobId: 'p' },
      children: [
        { name: 'ignored', queueName: 'fl-idof', opts: { jobId: 'ignored', ignoreDependencyOnFailure: true } },
        { name: 'dropped', queueName: 'fl-idof', opts: { jobId: 'dropped', removeDependencyOnFailure: true } },
      ],
    });
    let seen: unknown;
    w.worker('fl-idof', async (job) => {
      if (job.name !== 'p') throw new Error(`${job.name} broke`);
      seen = { ignored: await job.getIgnoredChildrenFailures(), failedValues: await job.getFailedChildrenValues(), values: await job.getChildrenValues() };
      return 'parent ok';
    });
    await w.waitFor(async () => (await q.getJobState('p')) === 'completed', 'parent completed');
    expect(seen).toEqual({
      ignored: { [keyOf(w, 'fl-idof', 'ignored')]: 'ignored broke' },
      failedValues: { [keyOf(w, 'fl-idof', 'ignored')]: 'ignored broke' },
      values: {},
    });
    const parent = (await q.getJob('p'))!;
    expect(await parent.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 0, ignored: 1, failed: 0 });
    expect((await parent.getDependencies({ ignored: {} }))).toEqual({ ignored: { [keyOf(w, 'fl-idof', 'ignored')]: 'ignored broke' }, nextIgnoredCursor: 0 });
  });

  it('continueParentOnFailure: the parent starts at the first failed child and can drop the unprocessed ones', async () => {
    const w = world();
    const q = w.queue('fl-cpof');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-cpof',
      opts: { jobId: 'p' },
      children: [
        { name: 'bad', queueName: 'fl-cpof', opts: { jobId: 'bad', continueParentOnFailure: true } },
        { name: 'later', queueName: 'fl-cpof', opts: { jobId: 'later', delay: 60_000 } },
      ],
    });
    let failures: unknown;
    w.worker('fl-cpof', async (job) => {
      if (job.name === 'bad') throw new Error('nope');
      failures = await job.getIgnoredChildrenFailures();
      await job.removeUnprocessedChildren();
      return 'continued';
    });
    await w.waitFor(async () => (await q.getJobState('p')) === 'completed', 'parent completed');
    expect(failures).toEqual({ [keyOf(w, 'fl-cpof', 'bad')]: 'nope' });
    expect(await q.getJob('later')).toBeUndefined();
    expect(await q.getJobCounts('delayed', 'failed', 'completed')).toEqual({ delayed: 0, failed: 1, completed: 1 });
  });

  it('step jobs: moveToWaitingChildren + WaitingChildrenError, children added with the parent option', async () => {
    const w = world();
    const q = w.queue('fl-step');
    const children = w.queue('fl-step-child');
    const answers: boolean[] = [];
    w.worker('fl-step', async (job, token) => {
      if (job.data.step === 'start') {
        await children.add('c', { n: 21 }, { parent: parentRef(w, 'fl-step', job.id) });
        await job.updateData({ step: 'collect' });
        const waiting = await job.moveToWaitingChildren(token!);
        answers.push(waiting);
        if (waiting) throw new WaitingChildrenError();
      }
      const values = await job.getChildrenValues();
      answers.push(await job.moveToWaitingChildren(token!));
      return Object.values(values);
    });
    const job = await q.add('stepper', { step: 'start' });
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'waiting-children', 'step job waiting for its child');
    w.worker('fl-step-child', async (child) => child.data.n * 2);
    await w.waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 'step job completed');
    expect(answers).toEqual([true, false]);
    expect((await q.getJob(job.id!))!.returnvalue).toEqual([42]);
  });

  it('errors: a missing parent, a parent that cannot be replaced, completing with pending children', async () => {
    const w = world();
    const q = w.queue('fl-err');
    const missing = keyOf(w, 'fl-err', 'nope');
    const err = await errorOf(q.add('c', {}, { parent: parentRef(w, 'fl-err', 'nope') }));
    expect(err?.message).toBe(`Missing key for parent job ${missing}. addJob`);
    expect(err?.code).toBe(-5);
    const flowErr = await errorOf(
      w.flowProducer().add({ name: 'p', queueName: 'fl-err', opts: { parent: parentRef(w, 'fl-err', 'nope') }, children: [{ name: 'c', queueName: 'fl-err' }] }),
    );
    expect(flowErr?.message).toBe(`Missing key for parent job ${missing}. addJob`);
    expect(flowErr?.code).toBe(-5);
    const failOpts = { parent: parentRef(w, 'fl-err', 'nope'), failParentOnFailure: true };
    expect((await errorOf(q.add('c', {}, failOpts)))?.message).toBe(`Missing key for parent job ${missing}. addJob`);
    expect(await q.getJobCountByTypes('waiting', 'waiting-children', 'delayed')).toBe(0);

    await w.flowProducer().add({ name: 'p1', queueName: 'fl-err', opts: { jobId: 'p1' }, children: [{ name: 'c', queueName: 'fl-err', opts: { jobId: 'kid' } }] });
    await w.flowProducer().add({ name: 'p2', queueName: 'fl-err', opts: { jobId: 'p2' }, children: [{ name: 'x', queueName: 'fl-err' }] });
    const replace = await errorOf(q.add('c', {}, { jobId: 'kid', parent: parentRef(w, 'fl-err', 'p2') }));
    expect(replace?.message).toBe(`The parent job ${keyOf(w, 'fl-err', 'p2')} cannot be replaced. addJob`);
    expect(replace?.code).toBe(-7);
    const same = await q.add('c', {}, { jobId: 'kid', parent: parentRef(w, 'fl-err', 'p1') });
    expect(same.id).toBe('kid');

    const failedWith: string[] = [];
    const worker = w.worker('fl-err', async (job) => {
      if (job.name === 'lonely') await q.add('late-child', {}, { parent: parentRef(w, 'fl-err', job.id), delay: 60_000 });
      return 'x';
    });
    worker.on('failed', (job, e) => failedWith.push(`${job?.name}: ${e.message}`));
    const workerErrors: string[] = [];
    worker.on('error', (e) => workerErrors.push(`${e.message} (${(e as Error & { code?: number }).code})`));
    const lonely = await q.add('lonely', {}, { jobId: 'lonely' });
    await w.waitFor(async () => (await q.getJobState(lonely.id!)) === 'failed', 'lonely failed');
    expect((await q.getJob('lonely'))!.failedReason).toBe('Job lonely has pending dependencies. moveToFinished');
    await w.waitFor(() => failedWith.length > 0, "worker's failed event");
    expect(failedWith).toEqual(['lonely: Job lonely has pending dependencies. moveToFinished']);
    expect(workerErrors).toEqual(['Job lonely has pending dependencies. moveToFinished (-4)']);
  });

  it('errors: moveToWaitingChildren without the lock, without a token, with failed children, and for a missing job', async () => {
    const w = world();
    const q = w.queue('fl-mwc');
    await w.flowProducer().add({ name: 'p', queueName: 'fl-mwc', opts: { jobId: 'p' }, children: [{ name: 'c', queueName: 'fl-mwc', opts: { jobId: 'c', delay: 60_000 } }] });
    const p = (await q.getJob('p'))!;
    const noLock = await errorOf(p.moveToWaitingChildren('some-token'));
    expect(noLock?.message).toBe('Missing lock for job p. moveToWaitingChildren');
    expect(noLock?.code).toBe(-2);
    const plain = await q.add('plain', {}, { jobId: 'plain' });
    expect(await plain.moveToWaitingChildren('some-token')).toBe(false);
    const gone = await errorOf(q.backend.moveToWaitingChildren('ghost', 'tok'));
    expect(gone?.message).toBe('Missing key for job ghost. moveToWaitingChildren');

    const seen: string[] = [];
    w.worker('fl-mwc', async (job, token) => {
      if (job.name !== 'holder') return 'x';
      await q.add('kid', {}, { parent: parentRef(w, 'fl-mwc', job.id), delay: 60_000 });
      const e1 = await errorOf(job.moveToWaitingChildren(undefined as unknown as string));
      seen.push(`${e1?.message} (${e1?.code})`);
      const e2 = await errorOf(job.moveToWaitingChildren('not-my-token'));
      seen.push(`${e2?.message} (${e2?.code})`);
      await job.moveToWaitingChildren(token!);
      throw new WaitingChildrenError();
    });
    await q.add('holder', {}, { jobId: 'holder' });
    await w.waitFor(async () => (await q.getJobState('holder')) === 'waiting-children', 'holder waiting for children');
    expect(seen).toEqual([
      'Lock mismatch for job holder. Cmd moveToWaitingChildren from active (-6)',
      'Lock mismatch for job holder. Cmd moveToWaitingChildren from active (-6)',
    ]);
  });

  it('failed children block moveToWaitingChildren and completion with UnrecoverableError', async () => {
    const w = world();
    const q = w.queue('fl-unsucc');
    const outcomes: string[] = [];
    const worker = w.worker('fl-unsucc', async (job, token) => {
      if (job.name === 'child') throw new Error('child broke');
      if (job.data.step === 'start') {
        await q.add('child', {}, { parent: parentRef(w, 'fl-unsucc', job.id), failParentOnFailure: true });
        await job.updateData({ step: 'again' });
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      const e = await errorOf(job.moveToWaitingChildren(token!));
      outcomes.push(`${e?.constructor.name}: ${e?.message}`);
      return 'unreachable';
    });
    worker.on('failed', (job, e) => {
      if (job?.name === 'parent') outcomes.push(`failed ${e.constructor.name}: ${e.message}`);
    });
    const parent = await q.add('parent', { step: 'start' });
    await w.waitFor(async () => (await q.getJobState(parent.id!)) === 'failed', 'parent failed');
    await w.waitFor(() => outcomes.length > 0, 'parent failure seen');
    const childKey = (await q.getJob(parent.id!))!.failedReason;
    expect(childKey).toMatch(/^child .+ failed$/);
    // The parent is failed at once with a deferred failure: its processor does not run again.
    expect(outcomes).toEqual([`failed UnrecoverableError: ${childKey}`]);
    expect(UnrecoverableError.name).toBe('UnrecoverableError');
  });

  it('removeChildDependency frees the parent; removing a child does too; remove() takes the children along', async () => {
    const w = world();
    const q = w.queue('fl-rm');
    const flow = w.flowProducer();
    await flow.add({ name: 'p', queueName: 'fl-rm', opts: { jobId: 'p' }, children: [{ name: 'c', queueName: 'fl-rm', opts: { jobId: 'c' } }] });
    const child = (await q.getJob('c'))!;
    expect(await child.removeChildDependency()).toBe(true);
    expect(child.parentKey).toBeUndefined();
    expect(await q.getJobState('p')).toBe('waiting');
    const reread = (await q.getJob('c'))!;
    expect(reread.parentKey).toBeUndefined();
    expect(reread.parent).toBeUndefined();

    await flow.add({ name: 'p2', queueName: 'fl-rm', opts: { jobId: 'p2' }, children: [{ name: 'c2', queueName: 'fl-rm', opts: { jobId: 'c2' } }] });
    await (await q.getJob('c2'))!.remove();
    expect(await q.getJobState('p2')).toBe('waiting');

    await flow.add({
      name: 'p3',
      queueName: 'fl-rm',
      opts: { jobId: 'p3' },
      children: [
        { name: 'c3', queueName: 'fl-rm-other', opts: { jobId: 'c3' }, children: [{ name: 'g3', queueName: 'fl-rm-other', opts: { jobId: 'g3' } }] },
        { name: 'd3', queueName: 'fl-rm', opts: { jobId: 'd3' } },
      ],
    });
    const other = w.queue('fl-rm-other');
    const qe = w.queueEvents('fl-rm', { lastEventId: '0-0' });
    await qe.waitUntilReady();
    const removed: string[] = [];
    qe.on('removed', ({ jobId, prev }) => {
      if (jobId === 'p3' || jobId === 'd3') removed.push(`${jobId}<${prev}`);
    });
    await (await q.getJob('p3'))!.remove();
    expect(await q.getJob('p3')).toBeUndefined();
    expect(await q.getJob('d3')).toBeUndefined();
    expect(await other.getJob('c3')).toBeUndefined();
    expect(await other.getJob('g3')).toBeUndefined();
    await w.waitFor(() => removed.length >= 2, 'removed events');
    expect(removed.sort()).toEqual(['d3<wait', 'p3<wait']);
  });

  it('remove refuses a parent whose pending child is locked; removeChildren: false leaves the children', async () => {
    const w = world();
    const q = w.queue('fl-lock');
    await w.flowProducer().add({ name: 'p', queueName: 'fl-lock', opts: { jobId: 'p' }, children: [{ name: 'c', queueName: 'fl-lock', opts: { jobId: 'c' } }] });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    w.worker('fl-lock', async (job) => {
      if (job.id === 'c') await gate;
    });
    await w.waitFor(async () => (await q.getJobState('c')) === 'active', 'child active');
    const refused = await errorOf((await q.getJob('p'))!.remove());
    expect(refused?.message).toBe('Job p could not be removed because it is locked by another worker');
    await (await q.getJob('p'))!.remove({ removeChildren: false });
    expect(await q.getJob('p')).toBeUndefined();
    expect(await q.getJobState('c')).toBe('active');
    release();
    await w.waitFor(async () => (await q.getJobState('c')) === 'completed', 'child completed without its parent');
  });

  it('a flow whose child already exists and is completed releases its parent at once; addBulk with a missing parent', async () => {
    const w = world();
    const q = w.queue('fl-dup');
    w.worker('fl-dup', async (job) => `${job.name} done`);
    await q.add('early', {}, { jobId: 'early' });
    await w.waitFor(async () => (await q.getJobState('early')) === 'completed', 'early completed');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-dup',
      opts: { jobId: 'p' },
      children: [{ name: 'early', queueName: 'fl-dup', opts: { jobId: 'early' } }],
    });
    await w.waitFor(async () => (await q.getJobState('p')) === 'completed', 'parent completed');
    expect(await (await q.getJob('p'))!.getChildrenValues()).toEqual({ [keyOf(w, 'fl-dup', 'early')]: 'early done' });

    const bulk = await q.addBulk([
      { name: 'ok', data: {} },
      { name: 'orphan', data: {}, opts: { parent: parentRef(w, 'fl-dup', 'missing') } },
    ]);
    expect(bulk.map((j) => typeof j.id)).toEqual(['string', 'number']);
    expect(bulk[1].id).toBe(-5);
  });

  it('a retried child is pending again for its parent', async () => {
    const w = world();
    const q = w.queue('fl-retry');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-retry',
      opts: { jobId: 'p' },
      children: [
        { name: 'flaky', queueName: 'fl-retry', opts: { jobId: 'flaky', ignoreDependencyOnFailure: true } },
        { name: 'later', queueName: 'fl-retry', opts: { jobId: 'later', delay: 60_000 } },
      ],
    });
    let fail = true;
    w.worker('fl-retry', async (job) => {
      if (job.name === 'flaky' && fail) throw new Error('flaky');
      return 'fine';
    });
    await w.waitFor(async () => (await q.getJobState('flaky')) === 'failed', 'flaky failed');
    const parent = (await q.getJob('p'))!;
    expect(await parent.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 1, ignored: 1, failed: 0 });
    fail = false;
    const flaky = (await q.getJob('flaky')) as Job;
    await flaky.retry();
    expect(await parent.getDependenciesCount({ ignored: true, unprocessed: true })).toEqual({ ignored: 0, unprocessed: expect.any(Number) });
    await w.waitFor(async () => (await q.getJobState('flaky')) === 'completed', 'flaky completed');
    expect(await parent.getDependenciesCount()).toEqual({ processed: 1, unprocessed: 1, ignored: 0, failed: 0 });
    expect(await q.getJobState('p')).toBe('waiting-children');
  });
});

describeOnBothBackends('conformance: flows (options, removal paths, large families)', (world) => {
  it('a released parent keeps its delay and priority; FlowProducer.addBulk and queuesOptions', async () => {
    const w = world();
    const q = w.queue('fl-opts');
    const trees = await w.flowProducer().addBulk([
      { name: 'late', queueName: 'fl-opts', opts: { jobId: 'late', delay: 300 }, children: [{ name: 'c1', queueName: 'fl-opts', opts: { jobId: 'c1' } }] },
      { name: 'urgent', queueName: 'fl-opts', opts: { jobId: 'urgent', priority: 3 }, children: [{ name: 'c2', queueName: 'fl-opts', opts: { jobId: 'c2' } }] },
    ]);
    expect(trees.map((t) => t.job.id)).toEqual(['late', 'urgent']);
    expect(await q.getJobCounts('waiting-children', 'waiting', 'delayed', 'prioritized')).toEqual({
      'waiting-children': 2,
      waiting: 2,
      delayed: 0,
      prioritized: 0,
    });
    const worker = w.worker('fl-opts', async (job) => job.name, { autorun: false });
    // Children only: the parents are released as their children complete.
    const c1 = (await worker.getNextJob('tok-1'))!;
    await c1.moveToCompleted('one', 'tok-1', false);
    const c2 = (await worker.getNextJob('tok-2'))!;
    await c2.moveToCompleted('two', 'tok-2', false);
    expect([c1.id, c2.id]).toEqual(['c1', 'c2']);
    expect(await q.getJobState('late')).toBe('delayed');
    expect(await q.getJobState('urgent')).toBe('prioritized');
    expect((await q.getJob('urgent'))!.priority).toBe(3);
    await worker.close();

    const [withDefaults] = await w.flowProducer().addBulk([
      { name: 'p', queueName: 'fl-opts', opts: { jobId: 'pd' }, children: [{ name: 'cd', queueName: 'fl-opts', opts: { jobId: 'cd' } }] },
    ]);
    expect(withDefaults.job.opts.attempts).toBe(0);
    const tree = await w.flowProducer().add(
      { name: 'p', queueName: 'fl-opts', opts: { jobId: 'pq' }, children: [{ name: 'cq', queueName: 'fl-opts', opts: { jobId: 'cq' } }] },
      { queuesOptions: { 'fl-opts': { defaultJobOptions: { attempts: 4 } } } },
    );
    expect(tree.job.opts.attempts).toBe(4);
    expect((await q.getJob('cq'))!.opts.attempts).toBe(4);
  });

  it('moveToWaitingChildren for one child: waits only while that child is pending', async () => {
    const w = world();
    const q = w.queue('fl-one');
    const answers: boolean[] = [];
    w.worker('fl-one', async (job, token) => {
      if (job.name !== 'parent') return 'child';
      const child = await q.add('kid', {}, { jobId: `${job.id}-kid`, parent: parentRef(w, 'fl-one', job.id), delay: 60_000 });
      answers.push(await job.moveToWaitingChildren(token!, { child: { id: 'someone-else', queue: `${w.opts.prefix}:fl-one` } }));
      answers.push(await job.moveToWaitingChildren(token!, { child: { id: child.id!, queue: `${w.opts.prefix}:fl-one` } }));
      throw new WaitingChildrenError();
    });
    const p = await q.add('parent', {});
    await w.waitFor(async () => answers.length === 2 && (await q.getJobState(p.id!)) === 'waiting-children', 'parent waiting for its child');
    expect(answers).toEqual([false, true]);
  });

  it('a failed child removed on failure (removeOnFail) frees its parent', async () => {
    const w = world();
    const q = w.queue('fl-rof');
    await w.flowProducer().add({
      name: 'p',
      queueName: 'fl-rof',
      opts: { jobId: 'p' },
      children: [{ name: 'gone', queueName: 'fl-rof', opts: { jobId: 'gone', removeOnFail: true } }],
    });
    let values: unknown;
    w.worker('fl-rof', async (job) => {
      if (job.name === 'gone') throw new Error('bye');
      values = await job.getChildrenValues();
      return 'parent ran';
    });
    await w.waitFor(async () => (await q.getJobState('p')) === 'completed', 'parent completed');
    expect(values).toEqual({});
    expect(await q.getJob('gone')).toBeUndefined();
  });

  it('drain and clean detach children: a parent in another queue is released, one in the same queue is deleted', async () => {
    const w = world();
    const q = w.queue('fl-drain');
    const parents = w.queue('fl-drain-parents');
    const flow = w.flowProducer();
    await flow.add({ name: 'far', queueName: 'fl-drain-parents', opts: { jobId: 'far' }, children: [{ name: 'c', queueName: 'fl-drain', opts: { jobId: 'c-far' } }] });
    await flow.add({ name: 'near', queueName: 'fl-drain', opts: { jobId: 'near' }, children: [{ name: 'c', queueName: 'fl-drain', opts: { jobId: 'c-near' } }] });
    await q.drain();
    expect(await parents.getJobState('far')).toBe('waiting');
    expect(await q.getJob('near')).toBeUndefined();
    expect(await q.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 0, 'waiting-children': 0 });

    await flow.add({ name: 'far2', queueName: 'fl-drain-parents', opts: { jobId: 'far2' }, children: [{ name: 'c', queueName: 'fl-drain', opts: { jobId: 'c-far2', delay: 60_000 } }] });
    await w.advance(20); // clean(0) takes jobs added before now
    expect(await q.clean(0, 10, 'delayed')).toEqual(['c-far2']);
    expect(await parents.getJobState('far2')).toBe('waiting');
  });

  it('obliterate removes the children; a parent still waiting for children of another queue stays', async () => {
    const w = world();
    const q = w.queue('fl-obl');
    const other = w.queue('fl-obl-other');
    const flow = w.flowProducer();
    await flow.add({
      name: 'kept',
      queueName: 'fl-obl',
      opts: { jobId: 'kept' },
      children: [
        { name: 'c1', queueName: 'fl-obl', opts: { jobId: 'c1' } },
        { name: 'c2', queueName: 'fl-obl-other', opts: { jobId: 'c2' } },
      ],
    });
    await flow.add({ name: 'freed', queueName: 'fl-obl', opts: { jobId: 'freed' }, children: [{ name: 'c3', queueName: 'fl-obl', opts: { jobId: 'c3' } }] });
    await flow.add({ name: 'far', queueName: 'fl-obl-other', opts: { jobId: 'far' }, children: [{ name: 'c4', queueName: 'fl-obl', opts: { jobId: 'c4' } }] });
    await q.pause();
    await q.obliterate();
    expect(await q.getJob('c1')).toBeUndefined();
    expect(await q.getJob('freed')).toBeUndefined();
    expect(await q.getJobState('kept')).toBe('waiting-children');
    expect(await q.getWaitingChildrenCount()).toBe(1);
    expect(await (await q.getJob('kept'))!.getDependenciesCount({ unprocessed: true })).toEqual({ unprocessed: 1 });
    expect(await other.getJobState('far')).toBe('waiting');
    expect(await other.getJobState('c2')).toBe('waiting');
  });

  it('events of a step job: waiting-children (prev active), then waiting (prev waiting-children)', async () => {
    const w = world();
    const q = w.queue('fl-step-ev');
    const qe = w.queueEvents('fl-step-ev', { lastEventId: '0-0' });
    await qe.waitUntilReady();
    const seen: string[] = [];
    for (const name of ['added', 'waiting', 'waiting-children', 'active', 'completed'] as const) {
      qe.on(name as 'waiting', (args: { jobId: string; prev?: string }) => {
        if (args.jobId === 'stepper') seen.push(args.prev ? `${name}<${args.prev}` : name);
      });
    }
    w.worker('fl-step-ev', async (job, token) => {
      if (job.name === 'kid') return 'kid';
      if (job.data.step === 'start') {
        await q.add('kid', {}, { parent: parentRef(w, 'fl-step-ev', job.id), delay: 200 });
        await job.updateData({ step: 'end' });
        if (await job.moveToWaitingChildren(token!)) throw new WaitingChildrenError();
      }
      return 'end';
    });
    await q.add('stepper', { step: 'start' }, { jobId: 'stepper' });
    await w.waitFor(async () => (await q.getJobState('stepper')) === 'waiting-children', 'stepper waiting for its child');
    await w.advance(300);
    await w.waitFor(async () => (await q.getJobState('stepper')) === 'completed', 'stepper completed');
    await w.waitFor(() => seen.length >= 7, `seven events (${seen.join(', ')})`);
    expect(seen).toEqual(['added', 'waiting', 'active<waiting', 'waiting-children<active', 'waiting<waiting-children', 'active<waiting', 'completed<active']);
  });

  it('children under another prefix: keys, getFlow and completion across prefixes', async () => {
    const w = world();
    const subPrefix = `${w.opts.prefix}:sub`;
    const parents = w.queue('fl-px');
    const kids = w.queue('fl-px-kids', { prefix: subPrefix });
    const flow = w.flowProducer();
    await flow.add({
      name: 'p',
      queueName: 'fl-px',
      opts: { jobId: 'p' },
      children: [{ name: 'k', queueName: 'fl-px-kids', prefix: subPrefix, opts: { jobId: 'k' } }],
    });
    expect((await kids.getJob('k'))!.parentKey).toBe(keyOf(w, 'fl-px', 'p'));
    expect(await (await parents.getJob('p'))!.getDependencies()).toMatchObject({ unprocessed: [`${subPrefix}:fl-px-kids:k`] });
    const tree = (await flow.getFlow({ id: 'p', queueName: 'fl-px' }))!;
    expect(tree.children?.map((c) => [c.job.id, c.job.queueName, c.job.prefix])).toEqual([['k', 'fl-px-kids', subPrefix]]);
    w.worker('fl-px-kids', async () => 'kid done', { prefix: subPrefix });
    await w.waitFor(async () => (await parents.getJobState('p')) === 'waiting', 'parent released');
    expect(await (await parents.getJob('p'))!.getChildrenValues()).toEqual({ [`${subPrefix}:fl-px-kids:k`]: 'kid done' });
  });

  it('removeChildDependency of a job without a parent, and of a missing job', async () => {
    const w = world();
    const q = w.queue('fl-rcd');
    const plain = await q.add('plain', {}, { jobId: 'plain' });
    const noParent = await errorOf(plain.removeChildDependency());
    expect([noParent?.message, noParent?.code]).toEqual(['Missing key for parent job undefined. removeChildDependency', -5]);
    await w.flowProducer().add({ name: 'p', queueName: 'fl-rcd', opts: { jobId: 'p' }, children: [{ name: 'c', queueName: 'fl-rcd', opts: { jobId: 'c' } }] });
    const missing = await errorOf(q.backend.removeChildDependency('ghost', keyOf(w, 'fl-rcd', 'p')));
    expect([missing?.message, missing?.code]).toEqual(['Missing key for job ghost. removeChildDependency', -1]);
    const child = (await q.getJob('c'))!;
    expect(await q.backend.removeChildDependency('plain', keyOf(w, 'fl-rcd', 'p'))).toBe(false);
    expect(await child.removeChildDependency()).toBe(true);
    const again = await errorOf(child.removeChildDependency());
    expect(again?.message).toBe('Missing key for parent job undefined. removeChildDependency');
  });

  it('getDependencies pages the pending children by count; a small family of short keys comes back whole when processed', async () => {
    const w = world();
    const q = w.queue('fl-long');
    const flow = w.flowProducer();
    const long = (i: number) => `child-with-a-rather-long-identifier-to-pass-64-bytes-${i}`;
    const children = Array.from({ length: 30 }, (_, i) => ({ name: 'c', queueName: 'fl-long', opts: { jobId: long(i) } }));
    await flow.add({ name: 'p', queueName: 'fl-long', opts: { jobId: 'p' }, children });
    const parent = (await q.getJob('p'))!;
    const first = await parent.getDependencies({ unprocessed: { count: 10 } });
    expect(first.nextUnprocessedCursor).not.toBe(0);
    expect(first.unprocessed!.length).toBeLessThan(30);
    const seen = new Set(first.unprocessed);
    let cursor = first.nextUnprocessedCursor!;
    for (let pages = 0; cursor !== 0 && pages < 100; pages++) {
      const page = await parent.getDependencies({ unprocessed: { cursor, count: 10 } });
      for (const key of page.unprocessed!) seen.add(key);
      cursor = page.nextUnprocessedCursor!;
    }
    expect(seen.size).toBe(30);
    const tree = (await flow.getFlow({ id: 'p', queueName: 'fl-long', maxChildren: 10 }))!;
    expect(tree.children!.length).toBeGreaterThanOrEqual(10);
    expect(tree.children!.length).toBeLessThan(30);

    const shortKids = Array.from({ length: 30 }, (_, i) => ({ name: 'c', queueName: 'fl-short', opts: { jobId: `s${i}` } }));
    await flow.add({ name: 'p', queueName: 'fl-long', opts: { jobId: 'short' }, children: shortKids });
    w.worker('fl-short', async (job) => Number(job.id!.slice(1)));
    await w.waitFor(async () => (await q.getJobState('short')) === 'waiting', 'short parent released');
    const whole = await (await q.getJob('short'))!.getDependencies({ processed: { count: 10 } });
    expect(whole.nextProcessedCursor).toBe(0);
    expect(Object.keys(whole.processed!)).toHaveLength(30);
    expect(whole.processed![keyOf(w, 'fl-short', 's7')]).toBe(7);
  });

  it('a flow added under an existing parent: the parent waits for the whole subtree', async () => {
    const w = world();
    const q = w.queue('fl-sub');
    const flow = w.flowProducer();
    await flow.add({ name: 'top', queueName: 'fl-sub', opts: { jobId: 'top' }, children: [{ name: 'a', queueName: 'fl-sub', opts: { jobId: 'a', delay: 500 } }] });
    const sub = await flow.add({
      name: 'sub',
      queueName: 'fl-sub',
      opts: { jobId: 'sub', parent: parentRef(w, 'fl-sub', 'top') },
      children: [{ name: 'leaf', queueName: 'fl-sub', opts: { jobId: 'leaf' } }],
    });
    expect(sub.job.parentKey).toBe(keyOf(w, 'fl-sub', 'top'));
    expect(await (await q.getJob('top'))!.getDependenciesCount({ unprocessed: true })).toEqual({ unprocessed: 2 });
    const order: string[] = [];
    w.worker('fl-sub', async (job) => {
      order.push(job.id!);
      return job.id;
    });
    await w.waitFor(async () => (await q.getJobState('sub')) === 'completed', 'subtree root completed');
    expect(await q.getJobState('top')).toBe('waiting-children');
    await w.advance(600);
    await w.waitFor(async () => (await q.getJobState('top')) === 'completed', 'top completed');
    expect(order).toEqual(['leaf', 'sub', 'a', 'top']);
    expect(await (await q.getJob('top'))!.getChildrenValues()).toEqual({ [keyOf(w, 'fl-sub', 'a')]: 'a', [keyOf(w, 'fl-sub', 'sub')]: 'sub' });
  });

  it('getDependencies pages through a large family (cursor until 0)', async () => {
    const w = world();
    const q = w.queue('fl-big');
    const children = Array.from({ length: 150 }, (_, i) => ({ name: `c${i}`, queueName: 'fl-big', opts: { jobId: `c${i}` } }));
    await w.flowProducer().add({ name: 'p', queueName: 'fl-big', opts: { jobId: 'p' }, children });
    const parent = (await q.getJob('p'))!;
    const seen = new Set<string>();
    let cursor = 0;
    let pages = 0;
    do {
      const page = await parent.getDependencies({ unprocessed: { cursor, count: 50 } });
      for (const key of page.unprocessed ?? []) seen.add(key);
      cursor = page.nextUnprocessedCursor ?? 0;
      pages++;
    } while (cursor !== 0 && pages < 100);
    expect(cursor).toBe(0);
    expect(pages).toBeGreaterThan(1);
    expect(seen.size).toBe(150);
    expect(await parent.getDependenciesCount({ unprocessed: true })).toEqual({ unprocessed: 150 });
    const all = await q.getDependencies('p', 'pending', 0, -1);
    expect(all.total).toBe(150);
    expect(new Set(all.items.map((i) => i.id)).size).toBe(150);
  });
});
