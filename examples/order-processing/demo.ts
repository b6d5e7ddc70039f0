import { randomBytes } from 'node:crypto';
import { startApp } from './bootstrap.js';
import { loadAppConfig } from './config.js';
import type { OrderView } from './orders/order-store.js';

/**
 * `npm run demo`: starts the app in this process, posts a few orders, prints their progress until every order
 * is shipped, then exits. Uses REDIS_URL when set (keys under a fresh AQ_KEY_PREFIX), else runs embedded on the
 * in-memory backend (no Redis needed).
 */
const ORDERS = [
  { items: [{ sku: 'book', quantity: 2 }], amount: 30 },
  { items: [{ sku: 'lamp', quantity: 1 }, { sku: 'bulb', quantity: 4 }], amount: 55.5 },
  { items: [{ sku: 'desk', quantity: 1 }], amount: 240 },
];

async function main(): Promise<void> {
  const config = loadAppConfig({
    ...process.env,
    PORT: '0',
    AQ_KEY_PREFIX: process.env.AQ_KEY_PREFIX ?? `aq-demo-${randomBytes(3).toString('hex')}`,
    AQ_STEP_DELAY_MS: process.env.AQ_STEP_DELAY_MS ?? '150',
  });
  const { app, url } = await startApp(config, ['error', 'warn']);
  const backend = config.redisUrl ? `Redis ${config.redisUrl}` : 'embedded in-memory backend (set REDIS_URL to use Redis)';
  console.log(`demo: app on ${url}, ${backend}, key prefix ${config.keyPrefix}`);
  try {
    const ids: string[] = [];
    for (const order of ORDERS) {
      const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(order) });
      const body = (await res.json()) as { orderId: string; queue: string };
      console.log(`POST /orders -> ${res.status} order ${body.orderId} on queue ${body.queue}`);
      ids.push(body.orderId);
    }
    const bad = await fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [], amount: -1 }) });
    console.log(`POST /orders (bad input) -> ${bad.status} ${JSON.stringify(((await bad.json()) as { message: unknown }).message)}`);

    const deadline = Date.now() + 30_000;
    let last = '';
    for (;;) {
      const orders = await Promise.all(ids.map(async (id) => (await (await fetch(`${url}/orders/${id}`)).json()) as OrderView));
      const line = orders.map((o) => `${o.orderId.slice(0, 8)}:${o.status}`).join('  ');
      if (line !== last) console.log(`progress  ${line}`);
      last = line;
      if (orders.every((o) => o.status === 'shipped')) {
        for (const o of orders) console.log(`order ${o.orderId}: ${o.history.map((h) => `${h.step}@${h.node}`).join(' -> ')}`);
        break;
      }
      if (Date.now() > deadline) throw new Error(`orders not shipped within 30 s: ${line}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    console.log('demo: done');
  } finally {
    await app.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
