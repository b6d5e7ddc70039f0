// Glue: the order example's classes under Test.createTestingModule with AtomicQueuesTestingModule (no Redis),
// in a fresh app on NestJS 11 (CommonJS) or 12 (ESM); run with node:test. No top-level await: this file is also
// compiled to CommonJS.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { AtomicQueuesTestHarness, AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';
import { APP_CONFIG, loadAppConfig } from './order-processing/config.js';
import { EntityWorkers } from './order-processing/entity-workers.js';
import { HistoryRecording } from './order-processing/history-recording.js';
import { ORDER_COMMAND_HANDLERS } from './order-processing/orders/handlers.js';
import { OrderStore } from './order-processing/orders/order-store.js';
import { OrdersController } from './order-processing/orders/orders.controller.js';
import { ORDER_JOB_PROCESSORS } from './order-processing/orders/processors.js';
import { STEP_JOB_NAME, ORDER_STEPS } from './order-processing/orders/steps.js';
import { embeddedRedisProviders } from './order-processing/redis.js';

test('orders of several entities run validate → pay → reserve → ship, in order, one worker each (AtomicQueuesTestingModule)', async () => {
  // No step delay: the harness' clock drives the module, the handlers do not sleep.
  const config = loadAppConfig({ AQ_STEP_DELAY_MS: '0', NODE_ID: 'test-node' });
  const moduleRef = await Test.createTestingModule({
    imports: [CqrsModule.forRoot(), AtomicQueuesTestingModule.forRoot({ keyPrefix: config.keyPrefix, enableCronManager: true })],
    controllers: [OrdersController],
    providers: [
      { provide: APP_CONFIG, useValue: config },
      ...embeddedRedisProviders,
      OrderStore,
      ...ORDER_COMMAND_HANDLERS,
      ...ORDER_JOB_PROCESSORS,
      EntityWorkers,
      HistoryRecording,
    ],
  }).compile();
  await moduleRef.init();
  try {
    const orders = moduleRef.get(OrdersController);
    const ids = ['o-1', 'o-2', 'o-3', 'o-4'];
    for (const [i, orderId] of ids.entries()) await orders.create({ orderId, items: [{ sku: `sku-${i}`, quantity: 1 }], amount: 10 + i });
    const harness = moduleRef.get(AtomicQueuesTestHarness);
    await harness.runUntilIdle();

    for (const orderId of ids) {
      const view = await orders.get(orderId);
      assert.equal(view.status, 'shipped', `order ${orderId}`);
      assert.deepEqual(
        view.history.map((h) => h.step),
        [...ORDER_STEPS],
        `order ${orderId}: step history`,
      );
      const runs = harness.history().filter((e) => e.entityId === orderId);
      assert.deepEqual(
        runs.map((e) => [e.jobName, e.outcome]),
        ORDER_STEPS.map((step) => [STEP_JOB_NAME[step], 'completed']),
        `order ${orderId}: harness history`,
      );
      assert.equal(new Set(runs.map((e) => e.worker)).size, 1, `order ${orderId}: one worker`);
    }
    await harness.verify();
  } finally {
    await moduleRef.close();
  }
});

test('the property tools run on this NestJS: generated streams on createTestingModuleSystem (loaded with import())', async () => {
  // `/testing/property` waits for fast-check at load time (top-level await): a CommonJS file imports it.
  const { assertAtomicQueueGuarantees, atomicQueueGuaranteesProperty, createTestingModuleSystem } = await import('@nestjs/atomic-queues/testing/property');
  await assertAtomicQueueGuarantees(
    atomicQueueGuaranteesProperty((scenario) => createTestingModuleSystem(scenario), {
      streams: { entities: 2, jobsPerEntity: 3, failures: 1, crashes: 1 },
      teardown: (system) => (system as Awaited<ReturnType<typeof createTestingModuleSystem>>).close(),
    }),
    { numRuns: 5 },
  );
});
