import { afterEach, describe, expect, it } from 'vitest';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { makeCore, type Core } from './support.js';

let core: Core | undefined;
afterEach(async () => {
  await core?.close();
  core = undefined;
});

/** The add must throw AtomicQueuesValidationError matching `message`, with nothing written to Redis. */
async function refused(c: Core, add: () => Promise<unknown>, message: RegExp): Promise<void> {
  const before = await c.keys();
  const err = await add().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AtomicQueuesValidationError);
  expect((err as Error).message).toMatch(message);
  expect(await c.keys()).toEqual(before);
}

describe('addJob / addEntityJob options are validated before anything is written', () => {
  const anyQueue: Array<[string, Record<string, unknown>, RegExp]> = [
    ['delay NaN (reached BullMQ Lua: "Cannot serialise number")', { delay: Number.NaN }, /^Invalid opts\.delay: must be an integer in \[0, \d+\] \(got NaN\)/],
    ['negative delay', { delay: -5 }, /opts\.delay: must be an integer in \[0,/],
    ['fractional delay', { delay: 1.5 }, /opts\.delay: must be an integer/],
    ['infinite delay', { delay: Number.POSITIVE_INFINITY }, /opts\.delay: must be an integer/],
    ['string delay', { delay: '100' }, /opts\.delay: must be an integer/],
    ['non-integer attempts', { attempts: 2.5 }, /opts\.attempts: must be an integer in \[1,/],
    ['zero attempts', { attempts: 0 }, /opts\.attempts/],
    ['NaN priority', { priority: Number.NaN }, /opts\.priority: must be an integer in \[0, 2097152\]/],
    ['negative timestamp', { timestamp: -1 }, /opts\.timestamp/],
    ['lifo not boolean', { lifo: 'yes' }, /opts\.lifo: must be true or false/],
    ['backoff as a number', { backoff: 100 }, /opts\.backoff: must be an object/],
    ['unknown option', { delai: 100 }, /opts\.delai: is not a known option; accepted: .*delay/],
    ['repeat', { repeat: { every: 1000 } }, /opts\.repeat: is not supported by addJob .*upsertJobScheduler/],
    ['prevMillis', { prevMillis: 1 }, /opts\.prevMillis: is internal to BullMQ job schedulers/],
    ['jobId with a space', { jobId: 'a b' }, /opts\.jobId/],
    ['empty deduplication id', { deduplication: { id: '' } }, /opts\.deduplication\.id: must be a non-empty string/],
    ['parent without queue', { parent: { id: 'p1' } }, /opts\.parent\.queue: must be a non-empty string/],
  ];

  it.each(anyQueue)('%s', async (_label, opts, message) => {
    core = makeCore();
    const c = core;
    await refused(c, () => c.queues.addJob('plain', 'x', {}, opts as never), message);
    await refused(c, () => c.queues.addEntityJob('order', 'o1', 'x', {}, opts as never), message);
  });

  const entityOnly: Array<[string, Record<string, unknown>, RegExp]> = [
    ['lifo', { lifo: true }, /opts\.lifo: is not allowed on an entity queue: it runs the job before the entity's earlier jobs/],
    ['priority', { priority: 3 }, /opts\.priority: must be 0 \(queueDefaults\.defaultJobOptions\.priority\) on an entity queue/],
    ['deduplication', { deduplication: { id: 'd1' } }, /opts\.deduplication: is not allowed on an entity queue.*opts\.jobId/],
    ['parent', { parent: { id: 'p1', queue: 'aq:parents' } }, /opts\.parent: is not allowed on an entity queue/],
    ['failParentOnFailure', { failParentOnFailure: true }, /opts\.failParentOnFailure: is not allowed on an entity queue/],
  ];

  it.each(entityOnly)('refused on entity queues, accepted on plain ones: %s', async (_label, opts, message) => {
    core = makeCore();
    const c = core;
    await refused(c, () => c.queues.addEntityJob('order', 'o1', 'x', {}, opts as never), message);
    // Known as an entity queue by name (after its first add), addJob refuses them too.
    const queue = c.queues.getOrCreateEntityQueue('order', 'o2');
    await c.queues.addJob(queue.name, 'first', {});
    await refused(c, () => c.queues.addJob(queue.name, 'x', {}, opts as never), message);
    if (!('parent' in opts) && !('failParentOnFailure' in opts)) {
      const added = await c.queues.addJob('plain', 'x', {}, opts as never);
      expect(added.queueName).toBe('plain');
    }
  });

  it('a priority equal to the module default keeps every job of the entity in one order and is accepted', async () => {
    core = makeCore({ queueDefaults: { defaultJobOptions: { priority: 5 } } });
    const c = core;
    const added = await c.queues.addEntityJob('order', 'o1', 'x', {}, { priority: 5 });
    const job = await c.queues.getOrCreateEntityQueue('order', 'o1').getJob(added.id);
    expect(job?.opts.priority).toBe(5);
    await refused(c, () => c.queues.addEntityJob('order', 'o1', 'x', {}, { priority: 0 }), /opts\.priority: must be 5/);
  });

  it('valid options reach BullMQ', async () => {
    core = makeCore();
    const added = await core.queues.addEntityJob('order', 'o1', 'x', {}, { delay: 60_000, attempts: 3, jobId: 'j-1', lifo: false, keepLogs: 5 });
    const job = await core.queues.getOrCreateEntityQueue('order', 'o1').getJob(added.id);
    expect(job?.opts).toMatchObject({ delay: 60_000, attempts: 3, keepLogs: 5 });
    expect(await job?.getState()).toBe('delayed');
  });
});

describe('maxJobDataBytes', () => {
  it('refuses the 20 MB payload the default limit (1 MiB) is for, naming the option', async () => {
    core = makeCore();
    const c = core;
    const big = { blob: 'x'.repeat(20 * 1024 * 1024) };
    await refused(c, () => c.queues.addEntityJob('order', 'o1', 'x', big), /^Invalid data: must be at most 1048576 bytes as JSON \(maxJobDataBytes\), has 20971531/);
    await refused(c, () => c.queues.addJob('plain', 'x', big), /maxJobDataBytes/);
  });

  it('counts UTF-8 bytes of the JSON against a configured limit', async () => {
    core = makeCore({ maxJobDataBytes: 100 });
    const c = core;
    await c.queues.addJob('plain', 'x', 'a'.repeat(98)); // "aaa…" = 100 bytes
    await refused(c, () => c.queues.addJob('plain', 'x', 'a'.repeat(99)), /at most 100 bytes .*has 101/);
    await refused(c, () => c.queues.addJob('plain', 'x', 'é'.repeat(50)), /has 102/); // 2 bytes each
    expect((await c.queues.getJobCounts('plain')).waiting).toBe(1);
  });
});
