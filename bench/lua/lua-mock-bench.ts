/**
 * Cost of one Lua script call on the in-memory Redis: plain ioredis-mock (a new fengari VM and a compilation per
 * call) vs the clocked mock (one persistent VM, each script compiled once), for the service scripts of src/.
 *
 *   npm run build && node dist/bench/lua/lua-mock-bench.js [--calls 300]
 */
import type { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { createClockedRedisMock, TestClock } from '@nestjs/atomic-queues/testing';
import { acquireLockScript } from '../../src/locks/lock.lua.js';
import { indexJobScript } from '../../src/index/index.lua.js';
import { refreshHeartbeatScript } from '../../src/workers/heartbeat.lua.js';
import type { LuaScript } from '../../src/redis/lua-script.js';
import { intFlag } from '../common.js';

const elapsed = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;

async function perCall(redis: Redis, script: LuaScript, keys: string[], args: (string | number)[], calls: number): Promise<{ first: number; steady: number }> {
  let t0 = process.hrtime.bigint();
  await script.run(redis, keys, args); // EVALSHA → NOSCRIPT → EVAL: loads (and on the clocked mock compiles) it
  const first = elapsed(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await script.run(redis, keys, args);
  return { first, steady: elapsed(t0) / calls };
}

async function main(): Promise<void> {
  const calls = intFlag(process.argv.slice(2), '--calls', 300, 100_000);
  const cases: [string, LuaScript, string[], (string | number)[]][] = [
    ['lock acquire (HGETALL, INCR, HSET, PEXPIRE)', acquireLockScript, ['lock', 'fence'], ['owner', 'type', 30_000]],
    ['index job (SADD, HINCRBY)', indexJobScript, ['jobs', 'counts'], ['job-1', 'entity-1']],
    ['heartbeat refresh (GET, PEXPIRE)', refreshHeartbeatScript, ['hb'], ['me', 5_000]],
  ];
  const plain = new (RedisMock as unknown as new (o: object) => Redis)({ host: 'lua-bench-plain' });
  const clocked = createClockedRedisMock(new TestClock()).client;
  await plain.set('hb', 'me');
  await clocked.set('hb', 'me');
  console.log(`Lua script call on the in-memory Redis, ms per call (mean of ${calls}; "first" = first call incl. load/compile)`);
  for (const [label, script, keys, args] of cases) {
    const before = await perCall(plain, script, keys, args, calls);
    const after = await perCall(clocked, script, keys, args, calls);
    console.log(
      `  ${label.padEnd(44)} ioredis-mock ${before.steady.toFixed(3)} (first ${before.first.toFixed(1)})` +
        `  clocked mock ${after.steady.toFixed(3)} (first ${after.first.toFixed(1)})  = ${(before.steady / after.steady).toFixed(0)}x`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
