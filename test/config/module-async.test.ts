import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  ATOMIC_QUEUES_CONFIG,
  AtomicQueuesConfigError,
  AtomicQueuesModule,
  QueueManagerService,
  type AtomicQueuesConfig,
  type AtomicQueuesModuleAsyncOptions,
  type AtomicQueuesOptionsFactory,
  type ResolvedAtomicQueuesConfig,
} from '../../src/index.js';
import { AtomicQueuesTestingModule, type AtomicQueuesTestingConfig } from '../../testing/index.js';
import { uniquePrefix } from '../core/support.js';

/** Settings an app keeps in a provider of its own (what @nestjs/config's ConfigService is to a real app). */
@Injectable()
class AppSettings {
  readonly redisUrl = inject('redisUrl');
  readonly keyPrefix = uniquePrefix('async');
}

@Module({ providers: [AppSettings], exports: [AppSettings] })
class SettingsModule {}

@Injectable()
class QueueOptions implements AtomicQueuesOptionsFactory {
  constructor(private readonly settings: AppSettings) {}

  createAtomicQueuesOptions(): AtomicQueuesConfig {
    return { redis: { url: this.settings.redisUrl }, keyPrefix: this.settings.keyPrefix, cronInterval: 1234 };
  }
}

@Module({ imports: [SettingsModule], providers: [QueueOptions], exports: [QueueOptions] })
class QueueOptionsModule {}

const apps: TestingModule[] = [];
afterEach(async () => {
  await Promise.allSettled(apps.splice(0).map((a) => a.close()));
});

async function boot(options: AtomicQueuesModuleAsyncOptions): Promise<TestingModule> {
  const app = await Test.createTestingModule({ imports: [AtomicQueuesModule.forRootAsync(options)] }).compile();
  apps.push(app);
  await app.init();
  return app;
}

/** Boots and checks the module is usable: the config resolved from the app's settings, a job added. */
async function expectWorking(app: TestingModule): Promise<void> {
  const config = app.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG);
  const settings = app.get(AppSettings, { strict: false });
  expect(config.keyPrefix).toBe(settings.keyPrefix);
  expect(config.cronInterval).toBe(1234);
  expect(config.workerDefaults.heartbeatTTL).toBe(3); // defaults applied by the same resolveConfig as forRoot
  const job = await app.get(QueueManagerService).addEntityJob('order', 'o1', 'charge', {});
  expect(job.queueName).toBe('order-o1-queue');
}

describe('AtomicQueuesModule.forRootAsync (Nest ConfigurableModuleBuilder convention)', () => {
  it('useFactory + inject + imports', async () => {
    const app = await boot({
      imports: [SettingsModule],
      inject: [AppSettings],
      useFactory: async (s: AppSettings) => ({ redis: { url: s.redisUrl }, keyPrefix: s.keyPrefix, cronInterval: 1234 }),
    });
    await expectWorking(app);
  });

  it('useClass: the module instantiates the factory class (its dependencies from imports)', async () => {
    const app = await boot({ imports: [SettingsModule], useClass: QueueOptions });
    await expectWorking(app);
  });

  it('useExisting: an options factory another module provides is reused', async () => {
    const app = await boot({ imports: [QueueOptionsModule], useExisting: QueueOptions });
    await expectWorking(app);
    expect(app.get(QueueOptions, { strict: false })).toBeInstanceOf(QueueOptions);
  });

  it('useExisting with a string token', async () => {
    @Module({ imports: [SettingsModule], providers: [{ provide: 'QUEUE_OPTIONS', useClass: QueueOptions }], exports: ['QUEUE_OPTIONS'] })
    class TokenModule {}
    const app = await boot({ imports: [TokenModule], useExisting: 'QUEUE_OPTIONS' as never });
    await expectWorking(app);
  });

  it('a factory result that is not a valid config fails bootstrap naming the field', async () => {
    const err = await boot({ useFactory: () => ({ redis: { url: inject('redisUrl'), db: -3 } }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesConfigError).path).toBe('redis.db');
    const none = await boot({ useFactory: () => undefined as unknown as AtomicQueuesConfig }).catch((e: unknown) => e);
    expect((none as AtomicQueuesConfigError).path).toBe('(config)');
  });

  class NotAFactory {
    create() {
      return {};
    }
  }

  it.each([
    ['no way to build the config', {}, 'forRootAsync(options)', /needs exactly one of useFactory, useClass or useExisting \(got "none"\)/],
    ['two ways', { useFactory: () => ({}), useClass: QueueOptions }, 'forRootAsync(options)', /exactly one .*\(got "useFactory \+ useClass"\)/],
    ['useFactory that is not a function', { useFactory: { redis: {} } }, 'forRootAsync(options).useFactory', /must be a function returning the config/],
    ['useClass without createAtomicQueuesOptions()', { useClass: NotAFactory }, 'forRootAsync(options).useClass', /must implement AtomicQueuesOptionsFactory \(a createAtomicQueuesOptions\(\) method\) \(got "NotAFactory"\)/],
    ['inject beside useClass', { useClass: QueueOptions, inject: [AppSettings] }, 'forRootAsync(options).inject', /applies to useFactory only/],
    ['useExisting that is no token', { useExisting: 42 }, 'forRootAsync(options).useExisting', /must be a provider token \(a class, string or symbol\)/],
  ])('%s: refused when the module is declared', (_, options, path, message) => {
    let err: unknown;
    try {
      AtomicQueuesModule.forRootAsync(options as AtomicQueuesModuleAsyncOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as AtomicQueuesConfigError).path).toBe(path);
    expect((err as Error).message).toMatch(message);
  });

  it('useExisting resolving to a provider without createAtomicQueuesOptions() fails bootstrap naming it', async () => {
    @Module({ providers: [NotAFactory], exports: [NotAFactory] })
    class WrongModule {}
    const err = await boot({ imports: [WrongModule], useExisting: NotAFactory as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    expect((err as Error).message).toMatch(/forRootAsync\(options\)\.useExisting must resolve to a provider implementing AtomicQueuesOptionsFactory .*\(got "NotAFactory"\)/);
  });
});

describe('AtomicQueuesTestingModule.forRootAsync follows the same convention', () => {
  @Injectable()
  class TestingOptions {
    constructor(private readonly settings: AppSettings) {}
    createAtomicQueuesOptions(): AtomicQueuesTestingConfig {
      return { keyPrefix: this.settings.keyPrefix, cronInterval: 1234 };
    }
  }

  it('useClass, with the same checks', async () => {
    const app = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRootAsync({ imports: [SettingsModule], useClass: TestingOptions })] }).compile();
    apps.push(app);
    await app.init();
    expect(app.get<ResolvedAtomicQueuesConfig>(ATOMIC_QUEUES_CONFIG)).toMatchObject({ keyPrefix: app.get(AppSettings, { strict: false }).keyPrefix, cronInterval: 1234 });
    expect(() => AtomicQueuesTestingModule.forRootAsync({} as never)).toThrow(/forRootAsync\(options\) needs exactly one of useFactory, useClass or useExisting/);
  });
});
