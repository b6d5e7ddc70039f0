// Glue: one node of the app. Both nodes run this file; the test driver sends commands on stdin:
//   produce  → OrderService.createOrder for every order of $ORDER_COUNT (snippet 4)
//   workers  → OrderWorkerService.createOrderWorker for every order (snippet 5; on both nodes, so for each
//              order one node starts the worker and the other finds it alive)
// and reads `@@…` lines on stdout. SIGTERM closes the app (Nest shutdown hooks).
import 'reflect-metadata';
import { createInterface } from 'node:readline';
import { NestFactory } from '@nestjs/core';
import { ClientModule } from './client.module.js';
import { makeOrders } from './order-checks.js';
import { OrderWorkerService } from './order-worker.service.js';
import { OrderService } from './order.service.js';

const say = (line: string) => console.log(`@@${line}`);
const message = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

const orders = makeOrders(Number(process.env.ORDER_COUNT ?? 10));
const app = await NestFactory.createApplicationContext(ClientModule, { logger: ['error', 'warn'] });
app.enableShutdownHooks();
const orderService = app.get(OrderService);
const orderWorkers = app.get(OrderWorkerService);
say('ready');

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'produce') {
    for (const order of orders) {
      try {
        await orderService.createOrder(order.orderId, order.items, order.amount);
      } catch (err) {
        say(`error createOrder(${order.orderId}): ${message(err)}`);
      }
    }
    say('produced');
  } else if (line === 'workers') {
    // With WORKERS_FROM_END=1 the node walks the orders from the other end: the two nodes meet in the middle,
    // so each starts some of the workers and finds the others alive.
    for (const order of process.env.WORKERS_FROM_END === '1' ? [...orders].reverse() : orders) {
      try {
        await orderWorkers.createOrderWorker(order.orderId);
      } catch (err) {
        say(`error createOrderWorker(${order.orderId}): ${message(err)}`);
      }
    }
    say('workers');
  }
}
