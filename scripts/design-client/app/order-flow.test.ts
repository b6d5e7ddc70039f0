// The testing-module equivalent of the two-node run: the same snippet classes under Test.createTestingModule
// with AtomicQueuesTestingModule (no Redis), run with node:test.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';
import { ORDER_PROVIDERS } from './client.module.js';
import { executions } from './commands.js';
import { checkOrderExecutions, makeOrders } from './order-checks.js';
import { OrderWorkerService } from './order-worker.service.js';
import { OrderService } from './order.service.js';

test('every order runs validate-order then process-payment, once each (AtomicQueuesTestingModule)', async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [
      CqrsModule.forRoot(),
      AtomicQueuesTestingModule.forRoot({ enableCronManager: true, workerDefaults: { concurrency: 1, heartbeatTTL: 3 } }),
    ],
    providers: ORDER_PROVIDERS,
  }).compile();
  await moduleRef.init();
  try {
    const harness = moduleRef.get(AtomicQueuesTestHarness);
    const orders = makeOrders(5);
    for (const order of orders) await moduleRef.get(OrderService).createOrder(order.orderId, order.items, order.amount);
    // The snippet's onReady logs "Worker <name> is ready": keep those lines.
    const logged: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => (logged.push(args.join(' ')), log(...args));
    try {
      for (const order of orders) {
        // Twice, as on two nodes: the second call finds the worker alive and starts no second consumer.
        await moduleRef.get(OrderWorkerService).createOrderWorker(order.orderId);
        await moduleRef.get(OrderWorkerService).createOrderWorker(order.orderId);
      }
      await harness.runUntilIdle();
    } finally {
      console.log = log;
    }

    assert.deepEqual(
      logged.filter((line) => line.endsWith(' is ready')),
      orders.map((order) => `Worker ${order.orderId}-worker is ready`),
      'one worker per order',
    );

    assert.deepEqual(checkOrderExecutions(orders, executions), []);
    for (const order of orders) {
      const runs = harness.history().filter((e) => e.queue === `order-${order.orderId}-queue`);
      assert.deepEqual(
        runs.map((e) => [e.jobName, e.outcome, e.worker]),
        [
          ['validate-order', 'completed', `${order.orderId}-worker`],
          ['process-payment', 'completed', `${order.orderId}-worker`],
        ],
        `harness history of order ${order.orderId}`,
      );
    }
    await harness.verify();
  } finally {
    await moduleRef.close();
  }
});
