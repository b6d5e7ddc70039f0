import { keys } from '../config/keys.js';
import { isCluster } from '../drivers/redis-client.js';
import type { RedisClient } from '../ports/redis.js';
import { releaseHeartbeatScript } from './heartbeat.lua.js';

/** Heartbeat keys per MGET in `alive`. */
const MGET_CHUNK = 1000;

/**
 * Worker names and their liveness: a name is held by whoever set its heartbeat key
 * (`${keyPrefix}:workers:${workerName}`, value `${nodeId}|${token}`) with `SET NX PX`; only that exact value may
 * refresh (NodeHeartbeat) or release it. The key expiring is how a dead holder is detected.
 */
export class WorkerNames {
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
  ) {}

  key(workerName: string): string {
    return keys.heartbeat(this.keyPrefix, workerName);
  }

  /** Takes the name for `owner` unless someone holds it; returns undefined when taken, else the holder's node id. */
  async claim(workerName: string, owner: string, ttlMs: number): Promise<{ claimed: true } | { claimed: false; holder: string }> {
    const key = this.key(workerName);
    if ((await this.redis.set(key, owner, 'PX', ttlMs, 'NX')) === 'OK') return { claimed: true };
    return { claimed: false, holder: ownerNode(await this.redis.get(key)) };
  }

  /** Releases the name if `owner` still holds it; true when released. */
  async release(workerName: string, owner: string): Promise<boolean> {
    return Number(await releaseHeartbeatScript.run<number>(this.redis, [this.key(workerName)], [owner])) === 1;
  }

  /** True iff a live heartbeat for the name exists (on any node). */
  async exists(workerName: string): Promise<boolean> {
    return (await this.redis.exists(this.key(workerName))) === 1;
  }

  /**
   * `exists` for many names in one command per 1,000 names (MGET; per-key EXISTS on a Cluster, where the keys may
   * live in different slots).
   */
  async alive(workerNames: readonly string[]): Promise<boolean[]> {
    const heartbeatKeys = workerNames.map((name) => this.key(name));
    if (isCluster(this.redis)) return Promise.all(heartbeatKeys.map(async (key) => (await this.redis.exists(key)) === 1));
    const alive: boolean[] = [];
    for (let i = 0; i < heartbeatKeys.length; i += MGET_CHUNK) {
      const values = await this.redis.mget(...heartbeatKeys.slice(i, i + MGET_CHUNK));
      for (const value of values) alive.push(value !== null);
    }
    return alive;
  }

  /** Node id holding the name, or undefined. */
  async holder(workerName: string): Promise<string | undefined> {
    const value = await this.redis.get(this.key(workerName));
    return value === null ? undefined : ownerNode(value);
  }
}

function ownerNode(value: string | null): string {
  if (value === null) return '';
  const bar = value.lastIndexOf('|');
  return bar < 0 ? value : value.slice(0, bar);
}
