import { context, propagation, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

/** A metric reader that collects on demand (the test's "scrape"). */
class OnDemandReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/**
 * An in-memory OpenTelemetry SDK for one test file: spans kept in memory, metrics collected on demand. The
 * providers go to the module through `telemetry: { tracerProvider, meterProvider }`; the context manager (active
 * spans across awaits) and the W3C propagator are global, as an app's SDK sets them, and removed by `close`.
 */
export class OtelHarness {
  readonly spans = new InMemorySpanExporter();
  readonly tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: this.spans })] });
  private readonly reader = new OnDemandReader();
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  private readonly contextManager = new AsyncLocalStorageContextManager().enable();

  constructor() {
    context.setGlobalContextManager(this.contextManager);
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  }

  finishedSpans(): ReadableSpan[] {
    return this.spans.getFinishedSpans();
  }

  async metrics(): Promise<MetricData[]> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new Error(`metric collection failed: ${errors.map(String).join('; ')}`);
    return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  }

  /** The value of a sum or gauge at exactly these attributes (undefined when no such point). */
  async value(name: string, attributes: Attributes): Promise<number | undefined> {
    const point = (await this.points(name)).find((p) => sameAttributes(p.attributes, attributes));
    return point === undefined ? undefined : (point.value as number);
  }

  /** A histogram's count and sum at exactly these attributes. */
  async histogram(name: string, attributes: Attributes): Promise<{ count: number; sum: number } | undefined> {
    const point = (await this.points(name)).find((p) => sameAttributes(p.attributes, attributes));
    if (!point) return undefined;
    const h = point.value as Histogram;
    return { count: h.count, sum: h.sum ?? 0 };
  }

  async points(name: string) {
    // Every scope's instrument of the name (each module instance and meter name registers its own).
    return (await this.metrics()).filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as Array<(typeof m.dataPoints)[number]>);
  }

  async close(): Promise<void> {
    await this.tracerProvider.shutdown();
    await this.meterProvider.shutdown();
    context.disable();
    propagation.disable();
  }
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}
