import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Test, type TestingModule } from '@nestjs/testing';
import { Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { AtomicQueuesModule, QueueManagerService, WorkerManagerService, entityQueueName } from '../../src/index.js';
import { FAST_WORKERS, uniquePrefix, waitFor } from '../core/support.js';
import { OtelHarness } from './otel-harness.js';

let otel: OtelHarness;
const apps: TestingModule[] = [];
beforeAll(() => {
  otel = new OtelHarness();
});
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
  otel.spans.reset();
});
afterAll(async () => {
  await otel.close();
});

async function boot(keyPrefix = uniquePrefix()): Promise<{ queues: QueueManagerService; workers: WorkerManagerService; nodeId: string; keyPrefix: string }> {
  const app = await Test.createTestingModule({
    imports: [
      AtomicQueuesModule.forRoot({
        redis: { url: inject('redisUrl') },
        keyPrefix,
        nodeId: `node-${keyPrefix}`,
        workerDefaults: FAST_WORKERS,
        shutdownTimeoutMs: 5000,
        telemetry: { tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider },
      }),
    ],
  }).compile();
  apps.push(app);
  await app.init();
  return { queues: app.get(QueueManagerService), workers: app.get(WorkerManagerService), nodeId: `node-${keyPrefix}`, keyPrefix };
}

describe('telemetry: spans', () => {
  it('one enqueue span parents every attempt span: attempts 3, failing twice → failed, failed, completed', async () => {
    const { queues, workers, nodeId } = await boot();
    const seenInProcessor: Array<string | undefined> = [];
    let calls = 0;
    await workers.createWorker({
      workerName: 'order-o1-worker',
      queueName: entityQueueName('order', 'o1'),
      entity: { entityType: 'order', entityId: 'o1' },
      processor: async () => {
        // The attempt span is active inside the processor: spans the processor starts are its children.
        seenInProcessor.push(trace.getActiveSpan()?.spanContext().spanId);
        calls += 1;
        if (calls < 3) throw new Error(`boom ${calls}`);
        return 'paid';
      },
    });
    // The add runs inside a caller's span (say, an HTTP request): the enqueue span is its child.
    const request = otel.tracerProvider.getTracer('test').startSpan('POST /orders');
    const added = await context.with(trace.setSpan(context.active(), request), () =>
      queues.addEntityJob('order', 'o1', 'charge', { amount: 5 }, { attempts: 3, backoff: { type: 'fixed', delay: 10 } }),
    );
    request.end();
    await waitFor(() => otel.finishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3, 10_000);

    const spans = otel.finishedSpans();
    const enqueue = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    expect(enqueue).toHaveLength(1);
    const producer = enqueue[0]!;
    expect(producer.name).toBe('enqueue order');
    expect(producer.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(producer.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'order-o1-queue',
      'messaging.message.id': added.id,
      'atomic_queues.entity.type': 'order',
      'atomic_queues.entity.id': 'o1',
      'atomic_queues.job.name': 'charge',
    });

    const attempts = spans.filter((s) => s.kind === SpanKind.CONSUMER).sort((a, b) => Number(a.attributes['atomic_queues.job.attempt']) - Number(b.attributes['atomic_queues.job.attempt']));
    expect(attempts.map((s) => s.attributes['atomic_queues.job.attempt'])).toEqual([1, 2, 3]);
    expect(attempts.map((s) => s.attributes['atomic_queues.outcome'])).toEqual(['failed', 'failed', 'completed']);
    for (const s of attempts) {
      expect(s.name).toBe('process order');
      expect(s.spanContext().traceId).toBe(producer.spanContext().traceId);
      expect(s.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
      expect(s.attributes).toMatchObject({
        'messaging.operation.type': 'process',
        'messaging.destination.name': 'order-o1-queue',
        'messaging.message.id': added.id,
        'atomic_queues.entity.type': 'order',
        'atomic_queues.entity.id': 'o1',
        'atomic_queues.job.name': 'charge',
        'atomic_queues.job.max_attempts': 3,
        'atomic_queues.node.id': nodeId,
        'atomic_queues.worker.name': 'order-o1-worker',
      });
    }
    expect(attempts.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    expect(attempts.map((s) => s.attributes['atomic_queues.job.retry'])).toEqual([true, true, undefined]);
    expect(attempts[0]!.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('boom 1');
    expect(seenInProcessor).toEqual(attempts.map((s) => s.spanContext().spanId));
  });

  it('a last failed attempt is failed without retry; an add that fails records its error', async () => {
    const { queues, workers } = await boot();
    await workers.createWorker({
      workerName: 'order-o2-worker',
      queueName: entityQueueName('order', 'o2'),
      entity: { entityType: 'order', entityId: 'o2' },
      processor: async () => {
        throw new Error('declined');
      },
    });
    await queues.addEntityJob('order', 'o2', 'charge', {}, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
    await waitFor(() => otel.finishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 2, 10_000);
    const attempts = otel.finishedSpans().filter((s) => s.kind === SpanKind.CONSUMER);
    expect(attempts.map((s) => [s.attributes['atomic_queues.job.attempt'], s.attributes['atomic_queues.outcome'], s.attributes['atomic_queues.job.retry']])).toEqual([
      [1, 'failed', true],
      [2, 'failed', false],
    ]);

    // Redis-side rejection of the add (a job id BullMQ refuses): the enqueue span ends with the error.
    otel.spans.reset();
    await expect(queues.addJob('plain-q', 'x', {}, { jobId: '7' })).rejects.toThrow();
    const [failedAdd] = otel.finishedSpans();
    expect(failedAdd?.kind).toBe(SpanKind.PRODUCER);
    expect(failedAdd?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("a caller's own opts.telemetry.metadata wins: the attempts continue the caller's trace", async () => {
    const { queues, workers } = await boot();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    await workers.createWorker({ workerName: 'order-o3-worker', queueName: entityQueueName('order', 'o3'), entity: { entityType: 'order', entityId: 'o3' }, processor: async () => 'ok' });
    await queues.addEntityJob('order', 'o3', 'charge', {}, { telemetry: { metadata: JSON.stringify({ traceparent: `00-${traceId}-${spanId}-01` }) } });
    await waitFor(() => otel.finishedSpans().some((s) => s.kind === SpanKind.CONSUMER), 10_000);
    const attempt = otel.finishedSpans().find((s) => s.kind === SpanKind.CONSUMER)!;
    expect(attempt.spanContext().traceId).toBe(traceId);
    expect(attempt.parentSpanContext?.spanId).toBe(spanId);
  });

  it("the context travels in BullMQ's own field: a plain BullMQ worker with bullmq-otel continues the trace", async () => {
    const { queues, keyPrefix } = await boot();
    await queues.addJob('plain-jobs', 'mail', { to: 'a@b.c' });
    const producer = otel.finishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!;
    expect(producer.name).toBe('enqueue plain-jobs');
    expect(producer.attributes['messaging.destination.name']).toBe('plain-jobs');
    expect(producer.attributes['atomic_queues.entity.type']).toBeUndefined();

    // BullMQ's telemetry adapter (bullmq-otel) on a plain BullMQ Worker, through the app's global provider: its
    // `process` span is a child of our enqueue span.
    trace.setGlobalTracerProvider(otel.tracerProvider);
    const worker = new Worker('plain-jobs', async () => 'sent', { connection: { url: inject('redisUrl') }, prefix: keyPrefix, telemetry: new BullMQOtel({ tracerName: 'bullmq-test' }) });
    try {
      await waitFor(() => otel.finishedSpans().some((s) => s.name === 'process plain-jobs' && s.instrumentationScope.name === 'bullmq-test'), 10_000);
    } finally {
      await worker.close();
      trace.disable();
    }
    const bullmqProcess = otel.finishedSpans().find((s) => s.name === 'process plain-jobs' && s.instrumentationScope.name === 'bullmq-test')!;
    expect(bullmqProcess.kind).toBe(SpanKind.CONSUMER);
    expect(bullmqProcess.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(bullmqProcess.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
  });
});
