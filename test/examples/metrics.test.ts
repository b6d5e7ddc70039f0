import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForValue } from '../support/wait.js';
import { startApp } from '../../examples/order-processing/bootstrap.js';
import type { OrderView } from '../../examples/order-processing/orders/order-store.js';

let app: INestApplication;
let base: string;

beforeAll(async () => {
  ({ app, url: base } = await startApp(
    { redisUrl: inject('redisUrl'), port: 0, nodeId: 'metrics-test', keyPrefix: `aqmx${randomBytes(4).toString('hex')}`, cronIntervalMs: 100, stepDelayMs: 5 },
    ['error'],
  ));
});

afterAll(async () => {
  await app?.close();
});

async function scrape(): Promise<{ contentType: string | null; text: string }> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return { contentType: res.headers.get('content-type'), text: await res.text() };
}

/** The value of one sample line `name{labels} value` (labels as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).split(' ')[0]);
}

describe('order-processing example: GET /metrics', () => {
  it('serves the per-entity-type metrics in Prometheus text format after two orders', async () => {
    const orders = [0, 1].map((i) => ({ orderId: `m${i}-${randomBytes(2).toString('hex')}`, items: [{ sku: `sku-${i}`, quantity: 1 }], amount: 10 }));
    for (const o of orders) {
      const res = await fetch(`${base}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(o) });
      expect(res.status).toBe(201);
    }
    await waitForValue(
      'both orders shipped',
      () => Promise.all(orders.map(async (o) => ((await (await fetch(`${base}/orders/${o.orderId}`)).json()) as OrderView).status)),
      (statuses) => statuses.every((s) => s === 'shipped'),
      15_000,
    );
    // Four steps per order, each a job of the `order` entity type: 8 completed once the last one is counted.
    const { contentType, text } = await waitForValue('8 completed order jobs', scrape, (s) => sample(s.text, 'atomic_queues_jobs_completed_total{atomic_queues_entity_type="order"}') === 8, 10_000);
    expect(contentType).toContain('text/plain');
    expect(text).toContain('# TYPE atomic_queues_jobs_completed_total counter');
    expect(text).toContain('# HELP atomic_queues_jobs_completed_total Jobs completed');
    expect(text).toContain('# TYPE atomic_queues_job_duration histogram');
    expect(text).toContain('# UNIT atomic_queues_job_duration s');
    expect(sample(text, 'atomic_queues_job_lag_count{atomic_queues_entity_type="order"}')).toBe(8);
    expect(sample(text, 'atomic_queues_job_duration_count{atomic_queues_entity_type="order",atomic_queues_outcome="completed"}')).toBe(8);
    expect(text).toMatch(/^atomic_queues_job_duration_bucket\{atomic_queues_entity_type="order",atomic_queues_outcome="completed",le="0\.005"\} \d+/m);
    expect(sample(text, 'atomic_queues_entities_backlog{atomic_queues_entity_type="order"}')).toBe(0);
    expect(text).toMatch(/^atomic_queues_entities_active\{atomic_queues_entity_type="order",atomic_queues_node_id="metrics-test"\} [0-9]+/m);
    expect(text).not.toContain('atomic_queues_jobs_failed_total{atomic_queues_entity_type="order"}');
  });
});
