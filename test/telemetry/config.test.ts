import { Test } from '@nestjs/testing';
import { describe, expect, inject, it, vi } from 'vitest';
import { AtomicQueuesConfigError, AtomicQueuesModule } from '../../src/index.js';
import { resolveConfig } from '../../src/config/index.js';
import { ATOMIC_QUEUES_OBSERVER, NOOP_OBSERVER } from '../../src/telemetry/observer.js';
import { OtelObserver } from '../../src/telemetry/otel-observer.js';
import { uniquePrefix } from '../core/support.js';

const redis = { url: 'redis://localhost:6379' };
const configError = (telemetry: unknown) => {
  try {
    resolveConfig({ redis, telemetry } as never);
  } catch (err) {
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    return (err as Error).message;
  }
  throw new Error('expected an AtomicQueuesConfigError');
};

describe('telemetry config', () => {
  it('absent: off; given: on with the default names; enabled: false turns it off', () => {
    expect(resolveConfig({ redis }).telemetry).toEqual({ enabled: false, tracerName: '@nestjs/atomic-queues', meterName: '@nestjs/atomic-queues' });
    expect(resolveConfig({ redis, telemetry: {} }).telemetry).toEqual({ enabled: true, tracerName: '@nestjs/atomic-queues', meterName: '@nestjs/atomic-queues' });
    expect(resolveConfig({ redis, telemetry: { enabled: false, tracerName: 'shop' } }).telemetry).toMatchObject({ enabled: false, tracerName: 'shop' });
  });

  it('bad values name the field', () => {
    expect(configError({ enabled: 'yes' })).toContain('telemetry.enabled must be true or false');
    expect(configError({ tracerName: '' })).toContain('telemetry.tracerName must be a non-empty string');
    expect(configError({ tracer: 'x' })).toContain('telemetry');
    expect(configError({ tracerProvider: {} })).toContain('telemetry.tracerProvider must be an OpenTelemetry TracerProvider (an object with getTracer())');
    expect(configError({ meterProvider: { getTracer() {} } })).toContain('telemetry.meterProvider must be an OpenTelemetry MeterProvider (an object with getMeter())');
    expect(configError('on')).toContain('telemetry');
  });

  it('the module binds the no-op observer when off and the OpenTelemetry one when on', async () => {
    for (const [telemetry, expected] of [[undefined, 'noop'], [{ enabled: false }, 'noop'], [{}, 'otel']] as const) {
      const app = await Test.createTestingModule({
        imports: [AtomicQueuesModule.forRoot({ redis: { url: inject('redisUrl') }, keyPrefix: uniquePrefix(), ...(telemetry ? { telemetry } : {}) })],
      }).compile();
      const observer = app.get(ATOMIC_QUEUES_OBSERVER);
      const destroyed = observer instanceof OtelObserver ? vi.spyOn(observer, 'onModuleDestroy') : undefined;
      await app.close();
      if (expected === 'noop') expect(observer).toBe(NOOP_OBSERVER);
      else {
        expect(observer).toBeInstanceOf(OtelObserver);
        // Closing the app unhooks its gauges from the meter provider.
        expect(destroyed).toHaveBeenCalledTimes(1);
      }
    }
  });
});
