import { createHash } from 'node:crypto';
import type { RedisClient } from '../ports/redis.js';

type Arg = string | number;

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet (NOSCRIPT).
 * Works on ioredis Redis/Cluster and on ioredis-mock; scripts must not use cjson/cmsgpack (the in-memory Redis of
 * ./testing has neither). TIME is fine: Redis 7 replicates effects, and the in-memory Redis answers it from its clock.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
    /** Exact key count, or 'any' for a script taking a variable number of keys (e.g. a batch). */
    readonly numberOfKeys: number | 'any',
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run<T = unknown>(redis: RedisClient, keys: readonly string[], args: readonly Arg[] = []): Promise<T> {
    if (this.numberOfKeys !== 'any' && keys.length !== this.numberOfKeys) {
      throw new Error(`LuaScript ${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (!String((err as Error)?.message ?? err).includes('NOSCRIPT')) throw err;
      return (await redis.eval(this.source, keys.length, ...keys, ...args)) as T;
    }
  }
}
