import type { TestProject } from 'vitest/node';
import { startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';

/**
 * Integration tests use `REDIS_URL` when it is set; otherwise a private redis-server from PATH on a free port,
 * which this setup owns (tests may flush it). A server we did not start is never flushed.
 */
let server: RedisServerHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    project.provide('redisOwned', false);
    return;
  }
  server = await startRedisServer();
  project.provide('redisUrl', server.url);
  project.provide('redisOwned', true);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
