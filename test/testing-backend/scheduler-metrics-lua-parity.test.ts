import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { QueueMetrics } from '../../testing/backend/metrics.js';
import { everyNextMillis } from '../../testing/backend/schedulers.js';

/** BullMQ's Lua includes, run verbatim on the tests' real Redis, against their TypeScript ports. */
const includes = join(dirname(createRequire(import.meta.url).resolve('bullmq')), '..', 'esm', 'commands', 'includes');
const include = (name: string) => readFileSync(join(includes, `${name}.lua`), 'utf8');

const EVERY_SCRIPT = `local rcall = redis.call
${include('getJobSchedulerEveryNextMillis')}
local prev = nil
if ARGV[1] ~= '' then prev = tonumber(ARGV[1]) end
local startDate = nil
if ARGV[5] ~= '' then startDate = ARGV[5] end
local n, o = getJobSchedulerEveryNextMillis(prev, tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], startDate)
return {tostring(n), tostring(o)}`;

const METRICS_SCRIPT = `local rcall = redis.call
${include('batches')}
${include('collectMetrics')}
for i = 2, #ARGV do
  collectMetrics(KEYS[1], KEYS[1] .. ':data', tonumber(ARGV[1]), ARGV[i])
end
return {rcall('HMGET', KEYS[1], 'count', 'prevTS', 'prevCount'), rcall('LRANGE', KEYS[1] .. ':data', 0, -1), rcall('LLEN', KEYS[1] .. ':data')}`;

let redis: Redis;
const prefix = `parity:${randomUUID()}`;
beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

const T0 = Date.UTC(2026, 0, 1);

describe('in-memory backend ports of BullMQ Lua, against the Lua on a real Redis', () => {
  it('everyNextMillis = getJobSchedulerEveryNextMillis.lua', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 120_000 }), // every
        fc.integer({ min: 0, max: 600_000 }), // now - T0
        fc.option(fc.integer({ min: -300_000, max: 300_000 })), // prevMillis - now
        fc.integer({ min: 0, max: 130_000 }), // offset
        fc.option(fc.integer({ min: -300_000, max: 300_000 })), // startDate - now
        async (every, nowDelta, prevDelta, offset, startDelta) => {
          const now = T0 + nowDelta;
          const prev = prevDelta === null ? undefined : now + prevDelta;
          const start = startDelta === null ? undefined : now + startDelta;
          const lua = (await redis.eval(EVERY_SCRIPT, 0, prev ?? '', every, now, offset, start ?? '')) as string[];
          expect(everyNextMillis(prev, every, now, String(offset), start)).toEqual(lua.map(Number));
        },
      ),
      {
        numRuns: 300,
        // Boundaries random draws rarely hit: now exactly on a slot (with and without offset), startDate = now.
        examples: [
          [1000, 5000, -3000, 0, null],
          [1000, 5250, null, 250, null],
          [1000, 5250, -2000, 250, null],
          [500, 7000, null, 0, 0],
          [300, 0, 0, 0, null],
        ],
      },
    );
  });

  it('QueueMetrics.collect = collectMetrics.lua', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }), // maxDataPoints
        fc.array(fc.integer({ min: -5_000, max: 400_000 }), { minLength: 1, maxLength: 25 }), // gaps between finishes
        async (maxDataPoints, gaps) => {
          const key = `${prefix}:${run++}`;
          let t = T0 + 12_345;
          const stamps = gaps.map((g) => (t += g));
          const lua = (await redis.eval(METRICS_SCRIPT, 1, key, maxDataPoints, ...stamps)) as [(string | null)[], string[], number];
          const metrics = new QueueMetrics();
          for (const stamp of stamps) metrics.collect('completed', maxDataPoints, stamp);
          expect(metrics.get('completed', 0, -1)).toEqual(lua);
          expect(metrics.get('completed', 1, 2)).toEqual([lua[0], lua[1].slice(1, 3), lua[2]]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
