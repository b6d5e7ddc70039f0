import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../../examples/order-processing/bootstrap.js';
import { loadAppConfig, type AppConfig } from '../../examples/order-processing/config.js';
import { startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';
import { waitForValue } from '../support/wait.js';

/**
 * The example app's probes over HTTP, on a redis-server of this file (it is killed in the last test):
 * `/health/live` and `/health/ready` answer 200 on a healthy node, 503 naming the failed check when Redis is gone
 * (readiness only) or while the node drains on shutdown.
 */
let server: RedisServerHandle;
let running: RunningApp | undefined;

type Probe = { status: number; body: { status: string; info?: Record<string, any>; error?: Record<string, any>; details: Record<string, any> } };
async function probe(path: string): Promise<Probe> {
  const res = await fetch(`${running!.url}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

function appConfig(): AppConfig {
  return { ...loadAppConfig({}), redisUrl: server.url, port: 0, nodeId: 'health-test', keyPrefix: `aqh${randomBytes(4).toString('hex')}`, cronIntervalMs: 100, stepDelayMs: 1000 };
}

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await running?.app.close().catch(() => undefined);
  await server?.stop();
});

describe('example app: /health/live and /health/ready (terminus)', () => {
  it('200 with every check up on a healthy node, and the heartbeats of the workers it runs', async () => {
    running = await startApp(appConfig(), ['error']);
    const live = await probe('/health/live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');
    expect(live.body.details['atomic-queues']).toMatchObject({ status: 'up', checks: { dispatcher: { status: 'up' }, cron: { status: 'up' } } });

    const order = await fetch(`${running.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ sku: 'a', quantity: 1 }], amount: 5 }),
    });
    expect(order.status).toBe(201);
    // The order's worker runs its steps (1 s each): its heartbeat is counted.
    const ready = await waitForValue('a worker heartbeat in /health/ready', () => probe('/health/ready'), (r) => r.body.details['atomic-queues']?.checks?.heartbeats?.workers === 1, 5000);
    expect(ready.status).toBe(200);
    expect(ready.body.details['atomic-queues']).toMatchObject({
      status: 'up',
      checks: {
        shutdown: { status: 'up' },
        redis: { status: 'up', latencyMs: expect.any(Number) },
        heartbeats: { status: 'up', workers: 1, stale: 0 },
        dispatcher: { status: 'up' },
        cron: { status: 'up' },
      },
    });
  });

  it('while the node drains on shutdown: ready 503 (shutdown down), live 200', async () => {
    const first = running!;
    const order = await fetch(`${first.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ sku: 'b', quantity: 1 }], amount: 5 }),
    });
    const { orderId } = (await order.json()) as { orderId: string };
    await waitForValue('the order processing', async () => ((await (await fetch(`${first.url}/orders/${orderId}`)).json()) as { history: unknown[] }).history.length, (n) => n > 0, 5000);
    const closing = first.app.close();
    try {
      const ready = await waitForValue('503 from /health/ready while draining', () => probe('/health/ready'), (r) => r.status === 503, 3000);
      expect(ready.body.status).toBe('error');
      expect(ready.body.error!['atomic-queues'].checks.shutdown).toEqual({ status: 'down', message: 'the node is shutting down (draining its workers)' });
      const live = await probe('/health/live');
      expect(live.status).toBe(200);
    } finally {
      await closing;
      running = undefined;
    }
  });

  it('Redis gone: ready 503 naming the PING, live still 200 (a restart would not bring Redis back)', async () => {
    running = await startApp(appConfig(), []);
    expect((await probe('/health/ready')).status).toBe(200);
    await server.kill();
    const ready = await probe('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error!['atomic-queues'].checks.redis).toEqual({ status: 'down', message: 'no reply to PING within 1000 ms' });
    const live = await probe('/health/live');
    expect(live.status).toBe(200);
    await server.restart();
    await waitForValue('ready again after Redis restarted', () => probe('/health/ready'), (r) => r.status === 200, 10_000);
  });
});
