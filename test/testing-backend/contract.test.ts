import { randomUUID } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { describe, expect, inject, it } from 'vitest';
import { waitForValue } from '../support/wait.js';
import { createWorld } from './world.js';

/**
 * Contract: one scenario (FIFO + a retry with backoff + an immediate retry + a delayed job on one queue) must give
 * the same execution order on the in-memory backend (TestClock) and on real Redis (real time, polled with a deadline).
 * The real-time margins (300 ms backoff, 600 ms delay) are far above the few ms the other jobs take.
 */
const JOBS = [
  { name: 'A', opts: {} },
  { name: 'B', opts: { attempts: 2, backoff: { type: 'fixed', delay: 300 } } },
  { name: 'C', opts: { attempts: 2 } },
  { name: 'D', opts: { delay: 600 } },
  { name: 'E', opts: {} },
] as const;
const EXPECTED_ATTEMPTS = 7;

function scenario() {
  const order: string[] = [];
  const processor = async (job: Job) => {
    order.push(`${job.name}#${job.attemptsMade + 1}`);
    if ((job.name === 'B' || job.name === 'C') && job.attemptsMade === 0) throw new Error('first attempt fails');
  };
  return { order, processor };
}

async function addAll(queue: Queue) {
  for (const j of JOBS) await queue.add(j.name, {}, j.opts);
}

describe('contract: in-memory backend vs real Redis', () => {
  it('FIFO + retries + delays give the same job order', async () => {
    const memory = scenario();
    const w = createWorld();
    try {
      const q = w.queue('contract');
      await addAll(q as unknown as Queue);
      w.worker('contract', memory.processor);
      await w.clock.runForegroundTimers();
    } finally {
      await w.close();
    }

    const redis = scenario();
    const url = new URL(inject('redisUrl'));
    const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
    const prefix = `contract-${randomUUID()}`;
    const queue = new Queue('contract', { connection, prefix });
    const worker = new Worker('contract', redis.processor, { connection, prefix, autorun: false });
    try {
      // Connected before the adds: the 300 ms / 600 ms margins then start with the jobs, not with the connection
      // set-up of a new Worker (which, on a loaded machine, could eat the margin: D then ran before B's retry).
      await worker.waitUntilReady();
      await addAll(queue);
      void worker.run();
      await waitForValue('every attempt on real Redis', async () => redis.order, (order) => order.length >= EXPECTED_ATTEMPTS, 10_000);
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }

    expect(memory.order).toEqual(['A#1', 'B#1', 'C#1', 'E#1', 'C#2', 'B#2', 'D#1']);
    expect(redis.order).toEqual(memory.order);
  });
});
