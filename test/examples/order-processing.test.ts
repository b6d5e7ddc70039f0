import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { checkHistory, readEnqueueLog, readJsonlHistory } from '@nestjs/atomic-queues/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForValue } from '../support/wait.js';
import { startApp } from '../../examples/order-processing/bootstrap.js';
import type { AppConfig } from '../../examples/order-processing/config.js';
import type { OrderView } from '../../examples/order-processing/orders/order-store.js';

const STEP_DELAY_MS = 60;
let app: INestApplication;
let base: string;
let dir: string;
let config: AppConfig;

async function post(path: string, body: unknown, raw?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function getOrder(id: string): Promise<OrderView> {
  const res = await fetch(`${base}/orders/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as OrderView;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'aq-example-'));
  config = {
    redisUrl: inject('redisUrl'),
    port: 0,
    nodeId: 'example-test',
    keyPrefix: `aqex${randomBytes(4).toString('hex')}`,
    historyFile: join(dir, 'history-example-test.jsonl'),
    enqueueFile: join(dir, 'enqueue-example-test.jsonl'),
    cronIntervalMs: 100,
    stepDelayMs: STEP_DELAY_MS,
  };
  ({ app, url: base } = await startApp(config, ['error']));
});

afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('order-processing example', () => {
  it('runs validate → pay → reserve → ship in order per order, with orders processed concurrently', async () => {
    const orders = Array.from({ length: 6 }, (_, i) => ({ orderId: `o${i}-${randomBytes(2).toString('hex')}`, items: [{ sku: `sku-${i}`, quantity: i + 1 }], amount: 10 + i }));
    const replies = await Promise.all(orders.map((o) => post('/orders', o)));
    for (const [i, r] of replies.entries()) {
      expect(r.status).toBe(201);
      expect(r.body.orderId).toBe(orders[i]!.orderId);
      expect(r.body.queue).toBe(`order-${orders[i]!.orderId}-queue`);
      expect(r.body.jobs.map((j: { step: string }) => j.step)).toEqual(['validate', 'pay', 'reserve', 'ship']);
    }

    const views = await waitForValue(
      'all orders shipped',
      () => Promise.all(orders.map((o) => getOrder(o.orderId))),
      (vs) => vs.every((v) => v.status === 'shipped'),
      20_000,
    );
    for (const v of views) {
      expect(v.history.map((h) => h.step)).toEqual(['validate', 'pay', 'reserve', 'ship']);
      for (let i = 1; i < v.history.length; i += 1) expect(v.history[i]!.start).toBeGreaterThanOrEqual(v.history[i - 1]!.end);
      expect(v.history.every((h) => h.end - h.start >= STEP_DELAY_MS - 5)).toBe(true);
    }
    // Different orders are not serialised behind each other: some steps of different orders overlapped in time.
    const steps = views.flatMap((v) => v.history.map((h) => ({ order: v.orderId, ...h })));
    const overlapping = steps.some((a) => steps.some((b) => a.order !== b.order && a.start < b.end && b.start < a.end));
    expect(overlapping).toBe(true);
    expect(new Set(steps.map((s) => s.node))).toEqual(new Set(['example-test']));
  });

  it('records a job history that passes the FIFO, single-worker and no-lost checks', async () => {
    const entity = `h${randomBytes(3).toString('hex')}`;
    for (let seq = 0; seq < 5; seq += 1) {
      const r = await post(`/entities/load/${entity}/jobs`, { seq, jobId: `${entity}-${seq}`, payload: { n: seq } });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({ jobId: `${entity}-${seq}`, queue: `load-${entity}-queue`, seq });
    }
    const mine = () => readJsonlHistory(config.historyFile!, { open: 'running' }).filter((e) => e.entityId === entity);
    await waitForValue('5 generic jobs completed', async () => mine(), (h) => h.filter((e) => e.outcome === 'completed').length === 5, 20_000);
    const enqueued = readEnqueueLog(config.enqueueFile!).filter((e) => e.entityId === entity);
    expect(enqueued.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4]);
    const result = checkHistory(enqueued, mine());
    expect(result.ok).toBe(true);
    expect(result.noLost.stats.completed).toBe(5);
  });

  it('rejects bad order input with 400 and a message naming each field', async () => {
    const r = await post('/orders', { orderId: 'has space', items: [{ sku: '', quantity: 0 }], amount: -1 });
    expect(r.status).toBe(400);
    expect(r.body.message).toEqual([
      'orderId must be 1-64 characters of A-Z a-z 0-9 _ . - (got "has space")',
      'items[0].sku must be a non-empty string (got "")',
      'items[0].quantity must be a positive integer (got 0)',
      'amount must be a number > 0 (got -1)',
    ]);
    expect((await post('/orders', { amount: 5 })).body.message).toEqual(['items must be a non-empty array of { sku, quantity } (got undefined)']);
    expect((await post('/orders', [1, 2])).body.message).toEqual(['body must be a JSON object']);
    expect((await post('/orders', undefined, '{"items": [')).status).toBe(400);
  });

  it('answers 404 for unknown orders, 409 for a reused id, and 400 for bad generic jobs', async () => {
    expect((await fetch(`${base}/orders/nope-${randomBytes(3).toString('hex')}`)).status).toBe(404);
    const order = { orderId: `dup-${randomBytes(3).toString('hex')}`, items: [{ sku: 'a', quantity: 1 }], amount: 1 };
    expect((await post('/orders', order)).status).toBe(201);
    const again = await post('/orders', order);
    expect(again.status).toBe(409);
    expect(again.body.message).toBe(`order ${order.orderId} already exists`);

    const badType = await post('/entities/orders/x/jobs', { seq: 0 });
    expect(badType.status).toBe(400);
    expect(badType.body.message).toEqual(['entity type "orders" is not accepted; accepted values: load']);
    const badId = await post('/entities/load/a%3Ab/jobs', { seq: 0 });
    expect(badId.status).toBe(400);
    expect(badId.body.message[0]).toMatch(/entityId/);
  });

  it('reports health with node id and memory', async () => {
    const res = await fetch(`${base}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { memory: { rss: number } };
    expect(body).toMatchObject({ status: 'ok', node: 'example-test', pid: process.pid });
    expect(body.memory.rss).toBeGreaterThan(0);
  });
});
