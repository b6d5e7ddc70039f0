import { createHash } from 'node:crypto';
import type { RedisClient } from '../ports/redis.js';

type Arg = string | number;

/**
 * A Lua script run with EVALSHA, falling back to EVAL when the server does not know it yet (NOSCRIPT).
 * Works on ioredis Redis/Cluster and on ioredis-mock; scripts must not use cjson/cmsgpack or TIME.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run<T = unknown>(redis: RedisClient, keys: readonly string[], args: readonly Arg[] = []): Promise<T> {
    if (keys.length !== this.numberOfKeys) {
      throw new Error(`LuaScript ${this.name}: expected ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      return (await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args)) as T;
    } catch (err) {
      if (!String((err as Error)?.message ?? err).includes('NOSCRIPT')) throw err;
      return (await redis.eval(this.source, this.numberOfKeys, ...keys, ...args)) as T;
    }
  }
}
