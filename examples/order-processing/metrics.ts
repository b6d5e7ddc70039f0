import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Req, Res, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * Metrics of the example: the module's OpenTelemetry instruments (AtomicQueuesModule `telemetry`) read by an
 * OpenTelemetry MeterProvider whose reader is the Prometheus exporter, served by the app itself on `GET /metrics`
 * (Prometheus text format) instead of the exporter's own port. The provider is the app's own (given to the module
 * as `telemetry.meterProvider`), not the process-global one: several apps in one process (tests) keep their
 * figures apart.
 */
export class ExampleMetrics implements OnApplicationShutdown {
  readonly exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  readonly meterProvider = new MeterProvider({ readers: [this.exporter] });

  async onApplicationShutdown(): Promise<void> {
    await this.meterProvider.shutdown();
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(@Inject(ExampleMetrics) private readonly metrics: ExampleMetrics) {}

  /** Prometheus scrape endpoint: collects every instrument now (the backlog gauge reads Redis) and writes the text. */
  @Get()
  scrape(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    this.metrics.exporter.getMetricsRequestHandler(request, response);
  }
}

/** The providers of the example's metrics; `metrics` is the instance whose meterProvider the module was given. */
export const metricsProviders = (metrics: ExampleMetrics): Provider[] => [{ provide: ExampleMetrics, useValue: metrics }];
