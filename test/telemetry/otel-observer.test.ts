import { SpanKind } from '@opentelemetry/api';
import * as api from '@opentelemetry/api';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { SystemClock } from '../../src/ports/clock.js';
import { OtelObserver, type GaugeSources } from '../../src/telemetry/otel-observer.js';
import { resolveTelemetry } from '../../src/telemetry/telemetry-config.js';
import { OtelHarness } from './otel-harness.js';

const otel = new OtelHarness();
afterAll(() => otel.close());

function observer(gauges: Partial<GaugeSources> = {}): OtelObserver {
  const sources: GaugeSources = { entityTypes: async () => [], entitiesWithBacklog: async () => [], localEntities: () => [], readTimeoutMs: 1000, ...gauges };
  const config = resolveTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider });
  return new OtelObserver(api, config, 'n1', new SystemClock(), sources, () => undefined);
}

const job = (opts: Partial<Job['opts']> = {}) => ({ id: 'j1', name: 'work', timestamp: Date.now(), opts, data: {} }) as unknown as Job;
const attempt = (o: OtelObserver, j: Job, n: number, max: number, run: () => unknown) =>
  o.attempt({ job: j, queueName: 'plain-q', workerName: 'w1', nodeId: 'n1', attempt: n, maxAttempts: max }, async () => run());

describe('OtelObserver', () => {
  it('outcomes: a moved job (BullMQ control flow) is neither failed nor retried; unrecoverable fails at once; plain queues are labelled by queue', async () => {
    const o = observer();
    await expect(attempt(o, job(), 1, 3, () => { throw new DelayedError(); })).rejects.toBeInstanceOf(DelayedError);
    await expect(attempt(o, job(), 1, 3, () => { throw new UnrecoverableError('no'); })).rejects.toThrow('no');
    await expect(attempt(o, job(), 1, 3, () => 'ok')).resolves.toBe('ok');
    const spans = otel.finishedSpans().filter((s) => s.kind === SpanKind.CONSUMER);
    expect(spans.map((s) => s.attributes['atomic_queues.outcome'])).toEqual(['moved', 'failed', 'completed']);
    expect(spans.map((s) => s.name)).toEqual(['process plain-q', 'process plain-q', 'process plain-q']);
    const q = { 'messaging.destination.name': 'plain-q' };
    expect(await otel.value('atomic_queues.jobs.failed', q)).toBe(1);
    expect(await otel.value('atomic_queues.jobs.retried', q)).toBeUndefined();
    expect(await otel.value('atomic_queues.jobs.completed', q)).toBe(1);
    expect((await otel.histogram('atomic_queues.job.duration', { ...q, 'atomic_queues.outcome': 'moved' }))?.count).toBe(1);
  });

  it('an unreadable trace context starts a trace of its own instead of failing the attempt', async () => {
    otel.spans.reset();
    await expect(attempt(observer(), job({ telemetry: { metadata: 'not json' } }), 1, 1, () => 'ok')).resolves.toBe('ok');
    const [span] = otel.finishedSpans();
    expect(span?.parentSpanContext).toBeUndefined();
  });

  it('after onModuleDestroy its gauges are no longer read', async () => {
    let reads = 0;
    const o = observer({ entityTypes: async () => (reads++, []), localEntities: () => [] });
    await otel.metrics();
    expect(reads).toBe(1);
    o.onModuleDestroy();
    await otel.metrics();
    expect(reads).toBe(1);
  });

  it('a scrape with Redis not answering still reports the local gauge, within the read timeout', async () => {
    let warned: unknown;
    const sources: GaugeSources = {
      entityTypes: () => new Promise<string[]>(() => undefined), // never answers
      entitiesWithBacklog: async () => [],
      localEntities: () => [{ entityType: 'slow', entityId: 'a' }, { entityType: 'slow', entityId: 'b' }],
      readTimeoutMs: 100,
    };
    const config = resolveTelemetry({ tracerProvider: otel.tracerProvider, meterProvider: otel.meterProvider, meterName: 'scrape-test' });
    new OtelObserver(api, config, 'n9', new SystemClock(), sources, (err) => (warned = err));
    const started = Date.now();
    expect(await otel.value('atomic_queues.entities.active', { 'atomic_queues.entity.type': 'slow', 'atomic_queues.node.id': 'n9' })).toBe(2);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(String(warned)).toContain('no answer within 100 ms');
  });
});
