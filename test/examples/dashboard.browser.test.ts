import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { QueueManagerService } from '@nestjs/atomic-queues';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApp } from '../../examples/order-processing/bootstrap.js';
import { STEP_JOB_NAME } from '../../examples/order-processing/orders/steps.js';
import { waitForValue } from '../support/wait.js';

/**
 * The example app's dashboard in a real browser: Chromium from Debian's packages (scripts/install-chromium.sh,
 * idempotent; .ci/run runs it before the tests) driven by playwright-core. Skipped, saying why, only when no
 * Chromium can be installed on this machine.
 */
function locateChromium(): { path?: string; reason?: string } {
  const run = spawnSync('bash', ['scripts/install-chromium.sh'], { encoding: 'utf8', timeout: 15 * 60_000 });
  const last = run.stdout?.trim().split('\n').pop() ?? '';
  if (run.status === 0 && last.startsWith('/')) return { path: last };
  return { reason: `Chromium could not be installed (scripts/install-chromium.sh exited ${run.status}: ${(run.stderr || run.stdout || String(run.error)).trim().split('\n').pop()})` };
}

const browserBinary = locateChromium();
const title = `example dashboard (bull-board) in Chromium${browserBinary.path ? '' : ` — SKIPPED: ${browserBinary.reason}`}`;
if (!browserBinary.path) console.warn(`test/examples/dashboard.browser.test.ts skipped: ${browserBinary.reason}`);

describe.skipIf(!browserBinary.path)(title, { timeout: 120_000 }, () => {
  let app: INestApplication;
  let base: string;
  let browser: Browser;
  const order = `dash-${randomBytes(3).toString('hex')}`;

  async function postOrder(orderId: string): Promise<void> {
    const res = await fetch(`${base}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderId, items: [{ sku: 'book', quantity: 1 }], amount: 12 }) });
    expect(res.status).toBe(201);
  }

  const orderStatus = async (orderId: string) => ((await (await fetch(`${base}/orders/${orderId}`)).json()) as { status: string }).status;

  beforeAll(async () => {
    ({ app, url: base } = await startApp(
      {
        redisUrl: inject('redisUrl'),
        port: 0,
        nodeId: 'dashboard-test',
        keyPrefix: `aqdash${randomBytes(4).toString('hex')}`,
        cronIntervalMs: 100,
        stepDelayMs: 5,
        dashboardQueues: 2,
      },
      ['error'],
    ));
    // validate → pay → reserve → ship, then a second "pay" the order refuses (it is shipped): a failed job.
    await postOrder(order);
    await waitForValue(`order ${order} to ship`, () => orderStatus(order), (s) => s === 'shipped', 20_000);
    const queues = app.get(QueueManagerService);
    await queues.addEntityJob('order', order, STEP_JOB_NAME.pay, { entityType: 'order', entityId: order, orderId: order, seq: 4 });
    const queue = queues.getOrCreateEntityQueue('order', order);
    await waitForValue('the repeated pay to fail', () => queue.getJobCounts('failed', 'completed'), (c) => c.failed === 1 && c.completed === 4, 20_000);
    browser = await chromium.launch({ executablePath: browserBinary.path, args: ['--no-sandbox'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("an entity picked from the entities page opens on bull-board: its jobs in the order they ran, the failed one with its error", async () => {
    const page = await browser.newPage();
    // the entity-aware page lists the type's entities; its link registers the entity's queue and opens it
    await page.goto(`${base}/dashboard/entities/order`);
    expect(await page.locator('h1').innerText()).toBe('order entities');
    await page.getByRole('link', { name: order, exact: true }).click();
    await page.waitForURL(`**/queues/queue/order-${order}-queue`);
    const names = page.locator('h5[class^="jobName-"]');
    await expect.poll(() => names.count(), { timeout: 20_000 }).toBe(5);
    // "latest" groups the jobs by state: every job of the entity is there
    expect((await names.allInnerTexts()).sort()).toEqual(['order.pay', 'order.pay', 'order.reserve', 'order.ship', 'order.validate']);
    await expect.poll(() => page.locator('body').innerText(), { timeout: 10_000 }).toContain(`entity order/${order}`); // the queue's description

    // the completed ones in the order they ran, newest first
    await page.goto(`${base}/queues/queue/order-${order}-queue?status=completed`);
    await expect.poll(() => names.allInnerTexts(), { timeout: 20_000 }).toEqual(['order.ship', 'order.reserve', 'order.pay', 'order.validate']);

    await page.goto(`${base}/queues/queue/order-${order}-queue?status=failed`);
    await expect.poll(() => names.allInnerTexts(), { timeout: 20_000 }).toEqual(['order.pay']);
    const card = page.locator('div[class^="card-"]', { has: names });
    await expect.poll(() => card.innerText(), { timeout: 10_000 }).toContain(`order ${order}: step "pay" needs status "validated" but the order is "shipped"`);
    await page.close();
  });

  it('entity queues are registered on demand, at most `dashboardQueues` at once (the least recently looked up leaves)', async () => {
    const others = [`dash-a-${randomBytes(2).toString('hex')}`, `dash-b-${randomBytes(2).toString('hex')}`];
    for (const id of others) await postOrder(id);
    for (const id of others) await waitForValue(`order ${id} to ship`, () => orderStatus(id), (s) => s === 'shipped', 20_000);
    const lookUp = (id: string) => fetch(`${base}/dashboard/entities/order/${id}`, { redirect: 'manual' });
    for (const id of [order, ...others]) {
      const res = await lookUp(id);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/queues/queue/order-${id}-queue`);
    }
    const onBoard = async () => ((await (await fetch(`${base}/queues/api/queues`)).json()) as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(await onBoard()).toEqual(others.map((id) => `order-${id}-queue`).sort());
    expect(await (await fetch(`${base}/dashboard/queues`)).json()).toEqual({ queues: others.map((id) => `order-${id}-queue`) });

    const missing = await lookUp('no-such-order');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { message: string }).message).toMatch(/^entity order\/no-such-order not found: no queue order-no-such-order-queue/);
  });
});
