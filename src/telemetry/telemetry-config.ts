import { checkKeys, fail, nonEmptyString, objectAt } from '../config/rules.js';

/**
 * OpenTelemetry spans and metrics of the module (see README, Operations → Telemetry). Needs the optional peer
 * dependency `@opentelemetry/api`; the app installs and registers an OpenTelemetry SDK of its choice (the module
 * only calls the API, so without a registered SDK every span and instrument is a no-op).
 */
export interface TelemetryConfig {
  /** Default true when `telemetry` is given; false turns every span and instrument off (nothing is imported). */
  enabled?: boolean;
  /** Name of the tracer (instrumentation scope). Default '@nestjs/atomic-queues'. */
  tracerName?: string;
  /** Name of the meter (instrumentation scope). Default '@nestjs/atomic-queues'. */
  meterName?: string;
  /** A TracerProvider to use instead of the global one (`trace.getTracerProvider()`), e.g. a test's own. */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /** A MeterProvider to use instead of the global one (`metrics.getMeterProvider()`). */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
}

export interface ResolvedTelemetryConfig {
  readonly enabled: boolean;
  readonly tracerName: string;
  readonly meterName: string;
  readonly tracerProvider?: TelemetryConfig['tracerProvider'];
  readonly meterProvider?: TelemetryConfig['meterProvider'];
}

export const DEFAULT_INSTRUMENTATION_NAME = '@nestjs/atomic-queues';

/** Validates `telemetry` (AtomicQueuesConfigError naming the field). Absent: disabled. */
export function resolveTelemetry(value: unknown, path = 'telemetry'): ResolvedTelemetryConfig {
  const obj = objectAt(path, value);
  if (obj === undefined) return Object.freeze({ enabled: false, tracerName: DEFAULT_INSTRUMENTATION_NAME, meterName: DEFAULT_INSTRUMENTATION_NAME });
  checkKeys(path, obj, ['enabled', 'tracerName', 'meterName', 'tracerProvider', 'meterProvider']);
  const enabled = obj.enabled ?? true;
  if (typeof enabled !== 'boolean') fail(`${path}.enabled`, 'must be true or false', enabled);
  const out: ResolvedTelemetryConfig = {
    enabled: enabled as boolean,
    tracerName: obj.tracerName === undefined ? DEFAULT_INSTRUMENTATION_NAME : nonEmptyString(`${path}.tracerName`, obj.tracerName),
    meterName: obj.meterName === undefined ? DEFAULT_INSTRUMENTATION_NAME : nonEmptyString(`${path}.meterName`, obj.meterName),
    ...(obj.tracerProvider === undefined ? {} : { tracerProvider: provider(`${path}.tracerProvider`, obj.tracerProvider, 'getTracer') as TelemetryConfig['tracerProvider'] }),
    ...(obj.meterProvider === undefined ? {} : { meterProvider: provider(`${path}.meterProvider`, obj.meterProvider, 'getMeter') as TelemetryConfig['meterProvider'] }),
  };
  return Object.freeze(out);
}

function provider(path: string, value: unknown, method: string): unknown {
  if (typeof value !== 'object' || value === null || typeof (value as Record<string, unknown>)[method] !== 'function') {
    fail(path, `must be an OpenTelemetry ${method === 'getTracer' ? 'TracerProvider' : 'MeterProvider'} (an object with ${method}())`, value);
  }
  return value;
}
