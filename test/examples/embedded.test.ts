import net from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitForValue } from '../support/wait.js';
import { startApp } from '../../examples/order-processing/bootstrap.js';
import { loadAppConfig } from '../../examples/order-processing/config.js';
import type { OrderView } from '../../examples/order-processing/orders/order-store.js';

// Without REDIS_URL the example runs embedded on the in-memory backend: the README's demo needs no Redis.
let app: INestApplication;
let base: string;
const connect = vi.spyOn(net.Socket.prototype, 'connect');

beforeAll(async () => {
  const config = { ...loadAppConfig({}), port: 0, stepDelayMs: 5, cronIntervalMs: 50 };
  expect(config.redisUrl).toBeUndefined();
  ({ app, url: base } = await startApp(config, ['error']));
});

afterAll(async () => {
  await app?.close();
  connect.mockRestore();
});

describe('order-processing example, embedded (no Redis configured)', () => {
  it('ships orders through validate → pay → reserve → ship without opening a Redis connection', async () => {
    connect.mockClear();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items: [{ sku: `s${i}`, quantity: 1 }], amount: 10 }),
      });
      expect(res.status).toBe(201);
      ids.push(((await res.json()) as { orderId: string }).orderId);
    }
    const views = await waitForValue(
      'all orders shipped',
      () => Promise.all(ids.map(async (id) => (await (await fetch(`${base}/orders/${id}`)).json()) as OrderView)),
      (vs) => vs.every((v) => v.status === 'shipped'),
      20_000,
      50,
    );
    expect(views.map((v) => v.status)).toEqual(['shipped', 'shipped', 'shipped']);
    for (const v of views) expect(v.history.map((h) => h.step)).toEqual(['validate', 'pay', 'reserve', 'ship']);
    // Only the test's own HTTP requests to the app's loopback port connect; nothing reaches for Redis (6379).
    const targets = connect.mock.calls.map((c) => JSON.stringify(c[0]));
    expect(targets.filter((t) => t.includes('6379'))).toEqual([]);
  });
});
