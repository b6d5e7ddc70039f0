import { Reflector, type DiscoveryService } from '@nestjs/core';
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { AtomicQueuesValidationError, DuplicateJobProcessorError, JobProcessorNotFoundError } from '../../src/errors.js';
import { JobProcessor } from '../../src/registry/job-processor.decorator.js';
import { JobProcessorRegistry } from '../../src/registry/job-processor.registry.js';

@JobProcessor('a')
class AProcessor {
  process(job: Job) {
    return `a:${job.data}`;
  }
}
@JobProcessor('b')
class BHandler {
  handle(job: Job) {
    return `b:${job.data}`;
  }
}
@JobProcessor('c')
class NoMethod {}
@JobProcessor('a')
class AnotherA {
  process() {}
}

const wrapper = (instance: object) => ({ instance, metatype: instance.constructor });
const registryOf = (...instances: object[]) =>
  new JobProcessorRegistry({ getProviders: () => instances.map(wrapper) } as unknown as DiscoveryService, new Reflector());
const job = (name: string, data: unknown) => ({ name, data }) as Job;

describe('JobProcessorRegistry', () => {
  it('discovers @JobProcessor providers (process or handle) and ignores other providers', async () => {
    const registry = registryOf(new AProcessor(), new BHandler(), { plain: true }, new (class Unrelated {})());
    registry.onModuleInit();
    expect(registry.getJobNames()).toEqual(['a', 'b']);
    expect(await registry.dispatch(job('a', 1))).toBe('a:1');
    expect(registry.hasProcessor('c')).toBe(false);
  });

  it('getProcessor returns the processor object: the @JobProcessor instance itself, a handle() class wrapped as { process }', async () => {
    const a = new AProcessor();
    const registry = registryOf(a, new BHandler());
    registry.onModuleInit();
    expect(registry.getProcessor('a')).toBe(a);
    const b = registry.getProcessor('b');
    expect(typeof b?.process).toBe('function');
    expect(await b?.process(job('b', 2))).toBe('b:2');
    expect(registry.getProcessor('nope')).toBeUndefined();
  });

  it('fails on two processors for one name, naming both classes', () => {
    const registry = registryOf(new AProcessor(), new AnotherA());
    const err = (() => {
      try {
        registry.onModuleInit();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DuplicateJobProcessorError);
    expect((err as Error).message).toBe("Job name 'a' has two @JobProcessor classes: AProcessor and AnotherA");
  });

  it('fails on a processor without process/handle', () => {
    expect(() => registryOf(new NoMethod()).onModuleInit()).toThrow(AtomicQueuesValidationError);
    expect(() => registryOf(new NoMethod()).onModuleInit()).toThrow(/@JobProcessor\('c'\) NoMethod: must have a process\(job\) or handle\(job\) method/);
  });

  it('manual registration: functions, duplicates, bad names; dispatch of an unknown name', async () => {
    const registry = registryOf();
    registry.register('f', async function handleF(j: Job) {
      return j.data;
    });
    expect(await registry.dispatch(job('f', 3))).toBe(3);
    expect(await registry.getProcessor('f')?.process(job('f', 4))).toBe(4);
    expect(() => registry.register('f', () => 1)).toThrow(/'f' has two @JobProcessor classes: handleF and/);
    expect(() => registry.register('', () => 1)).toThrow(/jobName/);
    await expect(registry.dispatch(job('zzz', 0))).rejects.toBeInstanceOf(JobProcessorNotFoundError);
    await expect(registry.dispatch(job('zzz', 0))).rejects.toThrow(/No processor for job name 'zzz'/);
  });
});
