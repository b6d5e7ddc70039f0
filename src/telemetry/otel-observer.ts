import type { OnModuleDestroy } from '@nestjs/common';
import type * as OtelApi from '@opentelemetry/api';
import type { Clock, ClockTimer } from '../ports/clock.js';
import { failedAttemptNext } from '../workers/failed-attempt.js';
import type { AtomicQueuesObserver, AttemptInfo, EnqueueCarrier, EnqueueInfo, ObservedEntity } from './observer.js';
import { ATTR, METRIC, SECONDS_BUCKETS } from './semantics.js';
import type { ResolvedTelemetryConfig } from './telemetry-config.js';

type Api = typeof OtelApi;

/** What the observable gauges read at each collection (scrape). */
export interface GaugeSources {
  /** Entity types known to the index (any node). */
  entityTypes(): Promise<string[]>;
  /** Per type (same order): entities with at least one pending job, cluster-wide. */
  entitiesWithBacklog(entityTypes: readonly string[]): Promise<number[]>;
  /** The entity workers running on this node. */
  localEntities(): Iterable<ObservedEntity>;
  /** A collection waits at most this long (ms) for the backlog read (Redis unreachable: the scrape still answers). */
  readTimeoutMs: number;
}

/**
 * The observer on OpenTelemetry (`@opentelemetry/api` only; the app's SDK exports):
 * - one PRODUCER span per add (`enqueue <entity type | queue>`), whose context travels with the job in BullMQ's
 *   trace-context field `opts.telemetry.metadata` (the format of `bullmq-otel`: the propagator's carrier as JSON);
 * - one CONSUMER span per attempt (`process <entity type | queue>`), child of the producer span, the processor
 *   running inside it (spans it starts are its children);
 * - the metrics of src/telemetry/semantics.ts (METRIC).
 */
export class OtelObserver implements AtomicQueuesObserver, OnModuleDestroy {
  private readonly tracer: OtelApi.Tracer;
  private readonly meter: OtelApi.Meter;
  private readonly gaugeCallback: OtelApi.BatchObservableCallback;
  private readonly observables: OtelApi.Observable[];
  private readonly completed: OtelApi.Counter;
  private readonly failed: OtelApi.Counter;
  private readonly retried: OtelApi.Counter;
  private readonly lag: OtelApi.Histogram;
  private readonly duration: OtelApi.Histogram;
  private readonly heartbeatLosses: OtelApi.Counter;
  private readonly takeovers: OtelApi.Counter;
  private readonly fencingRejections: OtelApi.Counter;

  constructor(
    private readonly api: Api,
    config: ResolvedTelemetryConfig,
    private readonly nodeId: string,
    private readonly clock: Clock,
    private readonly gauges: GaugeSources,
    private readonly onGaugeError: (err: unknown) => void,
  ) {
    const tracerProvider = (config.tracerProvider as OtelApi.TracerProvider | undefined) ?? api.trace.getTracerProvider();
    const meterProvider = (config.meterProvider as OtelApi.MeterProvider | undefined) ?? api.metrics.getMeterProvider();
    this.tracer = tracerProvider.getTracer(config.tracerName);
    const meter = (this.meter = meterProvider.getMeter(config.meterName));
    const counter = (m: { name: string; description: string; unit: string }) => meter.createCounter(m.name, { description: m.description, unit: m.unit });
    const histogram = (m: { name: string; description: string }) =>
      meter.createHistogram(m.name, { description: m.description, unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } });
    this.completed = counter(METRIC.jobsCompleted);
    this.failed = counter(METRIC.jobsFailed);
    this.retried = counter(METRIC.jobsRetried);
    this.lag = histogram(METRIC.jobLag);
    this.duration = histogram(METRIC.jobDuration);
    this.heartbeatLosses = counter(METRIC.heartbeatLosses);
    this.takeovers = counter(METRIC.takeovers);
    this.fencingRejections = counter(METRIC.fencingRejections);
    const backlog = meter.createObservableGauge(METRIC.entitiesBacklog.name, { description: METRIC.entitiesBacklog.description, unit: METRIC.entitiesBacklog.unit });
    const active = meter.createObservableGauge(METRIC.entitiesActive.name, { description: METRIC.entitiesActive.description, unit: METRIC.entitiesActive.unit });
    this.observables = [backlog, active];
    this.gaugeCallback = async (result) => {
      const local = new Map<string, number>();
      for (const e of this.gauges.localEntities()) local.set(e.entityType, (local.get(e.entityType) ?? 0) + 1);
      let types: string[] = [];
      try {
        const read = await this.bounded(async () => {
          const known = await this.gauges.entityTypes();
          return { known, counts: await this.gauges.entitiesWithBacklog(known) };
        });
        types = read.known;
        types.forEach((t, i) => result.observe(backlog, read.counts[i] ?? 0, { [ATTR.entityType]: t }));
      } catch (err) {
        this.onGaugeError(err); // Redis unreachable: no backlog points this collection; the local gauge still reports
      }
      for (const t of new Set([...types, ...local.keys()])) result.observe(active, local.get(t) ?? 0, { [ATTR.entityType]: t, [ATTR.nodeId]: this.nodeId });
    };
    meter.addBatchObservableCallback(this.gaugeCallback, this.observables);
  }

  /** The module closes: its gauges stop reading (a meter provider outliving the app never calls into it again). */
  onModuleDestroy(): void {
    this.meter.removeBatchObservableCallback(this.gaugeCallback, this.observables);
  }

  async enqueue<R extends { id: string }>(info: EnqueueInfo, add: (carrier: EnqueueCarrier) => Promise<R>): Promise<R> {
    const { api } = this;
    const parent = api.context.active();
    const span = this.tracer.startSpan(
      `enqueue ${info.entity?.entityType ?? info.queueName}`,
      { kind: api.SpanKind.PRODUCER, attributes: { ...jobTarget(info.queueName, info.entity), [ATTR.operation]: 'send', [ATTR.jobName]: info.jobName } },
      parent,
    );
    const inSpan = api.trace.setSpan(parent, span);
    const carrier: Record<string, string> = {};
    api.propagation.inject(inSpan, carrier);
    try {
      const added = await api.context.with(inSpan, () => add(Object.keys(carrier).length > 0 ? { telemetry: { metadata: JSON.stringify(carrier) } } : {}));
      span.setAttribute(ATTR.jobId, added.id);
      return added;
    } catch (err) {
      this.recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  async attempt<R>(info: AttemptInfo, run: () => Promise<R> | R): Promise<R> {
    const { api } = this;
    const { job, attempt } = info;
    const parent = this.producerContext(job.opts?.telemetry?.metadata);
    const span = this.tracer.startSpan(
      `process ${info.entity?.entityType ?? info.queueName}`,
      {
        kind: api.SpanKind.CONSUMER,
        attributes: {
          ...jobTarget(info.queueName, info.entity),
          [ATTR.operation]: 'process',
          [ATTR.jobName]: job.name,
          [ATTR.jobId]: String(job.id),
          [ATTR.attempt]: attempt,
          [ATTR.maxAttempts]: info.maxAttempts,
          [ATTR.nodeId]: info.nodeId,
          [ATTR.workerName]: info.workerName,
        },
      },
      parent,
    );
    const labels = metricLabels(info.queueName, info.entity);
    const startedAt = this.clock.now();
    // Enqueue → start: the job's due time (added, or its delay elapsed) to its first attempt.
    if (attempt === 1 && typeof job.timestamp === 'number') {
      this.lag.record(Math.max(0, startedAt - job.timestamp - (job.opts?.delay ?? 0)) / 1000, labels);
    }
    let outcome = 'completed';
    try {
      const result = await api.context.with(api.trace.setSpan(parent, span), run);
      this.completed.add(1, labels);
      return result;
    } catch (raw) {
      const err = raw instanceof Error ? raw : new Error(String(raw));
      const next = failedAttemptNext(err, attempt, info.maxAttempts);
      outcome = next === 'moved' ? 'moved' : 'failed';
      if (next !== 'moved') {
        this.recordError(span, err);
        span.setAttribute(ATTR.retry, next === 'retry');
        (next === 'retry' ? this.retried : this.failed).add(1, labels);
      }
      throw raw;
    } finally {
      span.setAttribute(ATTR.outcome, outcome);
      this.duration.record(Math.max(0, this.clock.now() - startedAt) / 1000, { ...labels, [ATTR.outcome]: outcome });
      span.end();
    }
  }

  heartbeatLost(_workerName: string, entity: ObservedEntity | undefined): void {
    this.heartbeatLosses.add(1, { ...(entity ? { [ATTR.entityType]: entity.entityType } : {}), [ATTR.nodeId]: this.nodeId });
  }

  takenOver(entities: readonly ObservedEntity[]): void {
    for (const e of entities) this.takeovers.add(1, { [ATTR.entityType]: e.entityType, [ATTR.nodeId]: this.nodeId });
  }

  fencingRejected(resourceType: string): void {
    this.fencingRejections.add(1, { [ATTR.resourceType]: resourceType });
  }

  private async bounded<T>(read: () => Promise<T>): Promise<T> {
    const ms = this.gauges.readTimeoutMs;
    let timer: ClockTimer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms, { unref: true, label: 'atomic-queues metrics backlog read' });
    });
    try {
      return await Promise.race([read(), timeout]);
    } finally {
      this.clock.clear(timer);
    }
  }

  /** The producer's context from the job's trace-context field; the active context when absent or unreadable. */
  private producerContext(metadata: string | undefined): OtelApi.Context {
    const active = this.api.context.active();
    if (!metadata) return active;
    try {
      return this.api.propagation.extract(active, JSON.parse(metadata) as Record<string, string>);
    } catch {
      return active; // not ours (hand-written opts.telemetry.metadata): the attempt starts a trace of its own
    }
  }

  private recordError(span: OtelApi.Span, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    span.recordException(e);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: e.message });
  }
}

/** Span attributes naming where a job goes: the queue, and the entity when it is an entity queue. */
function jobTarget(queueName: string, entity: ObservedEntity | undefined): OtelApi.Attributes {
  return {
    [ATTR.system]: 'bullmq',
    [ATTR.queue]: queueName,
    ...(entity ? { [ATTR.entityType]: entity.entityType, [ATTR.entityId]: entity.entityId } : {}),
  };
}

/** Metric attributes stay low-cardinality: the entity type (never the id), or the queue of a plain queue. */
function metricLabels(queueName: string, entity: ObservedEntity | undefined): OtelApi.Attributes {
  return entity ? { [ATTR.entityType]: entity.entityType } : { [ATTR.queue]: queueName };
}
