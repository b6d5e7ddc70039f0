import { afterEach, describe, expect, it } from 'vitest';
import { createWorld, type World } from './world.js';

let w: World;
afterEach(async () => w?.close());

describe('in-memory backend: every call answers one round trip later', () => {
  it('a reply arrives after the microtasks queued behind the call, and after an earlier setImmediate', async () => {
    w = createWorld();
    const q = w.queue('rt');
    const order: string[] = [];
    const reply = q.getJobCounts('waiting').then(() => order.push('reply'));
    setImmediate(() => order.push('earlier macrotask'));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    order.push('microtasks');
    await reply;
    expect(order).toEqual(['microtasks', 'earlier macrotask', 'reply']);
  });

  it('an error is a rejection one round trip later too, and the command already took effect when the caller resumes', async () => {
    w = createWorld();
    const q = w.queue('rt-err');
    const job = await q.add('a', {});
    const order: string[] = [];
    const refused = job.promote().catch((err: Error) => order.push(err.message));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    order.push('microtasks');
    await refused;
    expect(order).toEqual(['microtasks', `Job ${job.id} is not in the delayed state. promote`]);
    // Commands apply in the order they are issued (atomic, like Lua scripts): a read issued after a write sees it.
    const write = q.add('b', {});
    const read = q.getWaitingCount();
    expect(await read).toBe(2);
    await write;
  });
});
