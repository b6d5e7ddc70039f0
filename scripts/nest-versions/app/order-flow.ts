// Glue: the order example's flow in a fresh app (NestJS 11 CommonJS or NestJS 12 ESM), on the Redis at
// $REDIS_URL. Two nodes of the example app (examples/order-processing, copied beside this file) run in this
// process; orders are posted to both over HTTP, every order must reach `shipped` through
// validate → pay → reserve → ship, and the recorded history must pass the package's checkers (FIFO per entity,
// one worker per entity, nothing lost or run twice). Prints one `@@result <json>` line; exit code 0 only if
// every check passed. No top-level await: this file is also compiled to CommonJS.
import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistory, formatHistoryCheck, readEnqueueLog, readJsonlHistory } from '@nestjs/atomic-queues/testing';
import { Redis } from 'ioredis';
import { startApp, type RunningApp } from './order-processing/bootstrap.js';
import { loadAppConfig } from './order-processing/config.js';
import type { OrderView } from './order-processing/orders/order-store.js';

const ORDER_COUNT = Number(process.env.ORDER_COUNT ?? 12);
const STEPS = ['validate', 'pay', 'reserve', 'ship'];

interface FlowResult {
  moduleSystem: 'commonjs' | 'esm';
  /** The nodes that ran order steps (from the orders' step history). */
  nodes: string[];
  orders: number;
  shipped: number;
  executions: number;
  problems: string[];
}

async function main(): Promise<FlowResult> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl) throw new Error('REDIS_URL is not set: the flow runs on a real Redis');
  const dir = mkdtempSync(join(tmpdir(), 'aq-order-flow-'));
  const keyPrefix = `aqflow${process.pid}`;
  const nodes: RunningApp[] = [];
  const problems: string[] = [];
  const files = { history: [] as string[], enqueues: [] as string[] };
  let views: OrderView[] = [];
  try {
    for (const nodeId of ['node-a', 'node-b']) {
      const history = join(dir, `${nodeId}-history.jsonl`);
      const enqueues = join(dir, `${nodeId}-enqueues.jsonl`);
      files.history.push(history);
      files.enqueues.push(enqueues);
      const config = loadAppConfig({
        REDIS_URL: redisUrl,
        PORT: '0',
        NODE_ID: nodeId,
        AQ_KEY_PREFIX: keyPrefix,
        AQ_HISTORY_FILE: history,
        AQ_ENQUEUE_FILE: enqueues,
        AQ_CRON_INTERVAL_MS: '50',
        AQ_STEP_DELAY_MS: '5',
      });
      nodes.push(await startApp(config, ['error', 'warn']));
    }
    const ids = Array.from({ length: ORDER_COUNT }, (_, i) => `flow-${i + 1}`);
    for (const [i, orderId] of ids.entries()) {
      const res = await fetch(`${nodes[i % nodes.length].url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, items: [{ sku: `sku-${i}`, quantity: i + 1 }], amount: (i + 1) * 10 }),
      });
      if (res.status !== 201) problems.push(`POST /orders ${orderId}: ${res.status} ${await res.text()}`);
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      views = await Promise.all(ids.map(async (id) => (await (await fetch(`${nodes[0].url}/orders/${id}`)).json()) as OrderView));
      if (views.every((v) => v.status === 'shipped') || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    for (const view of views) {
      const steps = (view.history ?? []).map((h) => h.step);
      if (view.status !== 'shipped' || steps.join() !== STEPS.join()) {
        problems.push(`order ${view.orderId}: status ${view.status}, steps ${steps.join(' → ') || 'none'} (expected shipped after ${STEPS.join(' → ')})`);
      }
    }
  } finally {
    // Closing the apps flushes and closes their JSONL recorders.
    for (const node of nodes) await node.app.close();
  }
  const history = readJsonlHistory(files.history);
  const check = checkHistory(readEnqueueLog(files.enqueues), history);
  if (!check.ok) problems.push(formatHistoryCheck(check));
  return {
    moduleSystem: typeof require === 'function' && typeof module === 'object' ? 'commonjs' : 'esm',
    nodes: [...new Set(views.flatMap((v) => (v.history ?? []).map((h) => h.node)))].sort(),
    orders: views.length,
    shipped: views.filter((v) => v.status === 'shipped').length,
    executions: history.length,
    problems,
  };
}

/** After app.close() nothing of the apps may keep the process alive: if it is still up after this, say what holds it. */
const EXIT_GRACE_MS = 20_000;

main().then(
  (result) => {
    console.log(`@@result ${JSON.stringify(result)}`);
    process.exitCode = result.problems.length ? 1 : 0;
    setTimeout(() => {
      const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles().map((h) => describeHandle(h));
      void redisClientNames().then((clients) => {
        console.log(`@@alive ${EXIT_GRACE_MS} ms after the apps closed, held by: ${handles.join(', ')}; Redis clients still connected: ${clients}`);
        process.exit(1);
      });
    }, EXIT_GRACE_MS).unref();
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);

function describeHandle(handle: object): string {
  const socket = handle as { remoteAddress?: string; remotePort?: number; localPort?: number };
  const name = handle.constructor?.name ?? typeof handle;
  if (socket.remoteAddress) return `${name} to ${socket.remoteAddress}:${socket.remotePort}`;
  if (socket.localPort) return `${name} on :${socket.localPort}`;
  return name;
}

/** `name (last command)` of every other client connected to $REDIS_URL: which connection was left open. */
async function redisClientNames(): Promise<string> {
  const probe = new Redis(process.env.REDIS_URL!, { connectionName: 'flow-probe', maxRetriesPerRequest: 1 });
  try {
    const list = (await probe.call('CLIENT', 'LIST')) as string;
    return list
      .split('\n')
      .filter((line) => line && !line.includes(' name=flow-probe '))
      .map((line) => `${/ name=(\S*)/.exec(line)?.[1] || '(unnamed)'} (${/ cmd=(\S*)/.exec(line)?.[1]})`)
      .join(', ');
  } catch (err) {
    return `unknown (${String(err)})`;
  } finally {
    probe.disconnect();
  }
}
