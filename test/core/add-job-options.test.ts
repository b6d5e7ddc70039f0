import { describe, expect, it } from 'vitest';
import { assertEntityJobOptions, resolveAddJobOptions } from '../../src/config/job-options.js';
import { AtomicQueuesConfigError } from '../../src/errors.js';

function rejection(fn: () => unknown): AtomicQueuesConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AtomicQueuesConfigError);
    return err as AtomicQueuesConfigError;
  }
  throw new Error('accepted invalid options');
}

describe('resolveAddJobOptions (per-call addJob options, unit level)', () => {
  it('passes every accepted option on, checked', () => {
    const opts = {
      removeOnComplete: 5, attempts: 2, backoff: { type: 'fixed', delay: 10 }, priority: 3,
      delay: 0, jobId: 'j1', timestamp: 0, lifo: false, keepLogs: 0, stackTraceLimit: 0, sizeLimit: 1,
      telemetry: { metadata: 'm', omitContext: true },
      deduplication: { id: 'd', ttl: 1, extend: true, replace: false, reschedule: false, keepLastIfActive: true },
      parent: { id: 'p', queue: 'bull:q' }, failParentOnFailure: true, continueParentOnFailure: false,
      ignoreDependencyOnFailure: false, removeDependencyOnFailure: true,
    };
    expect(resolveAddJobOptions('opts', opts)).toEqual(opts);
    expect(resolveAddJobOptions('opts', undefined)).toEqual({});
    expect(Object.keys(resolveAddJobOptions('opts', { attempts: 1, lifo: undefined, failParentOnFailure: undefined }))).toEqual(['attempts']);
    expect(resolveAddJobOptions('opts', { removeOnFail: undefined, telemetry: {} })).toEqual({ telemetry: {} });
  });

  it.each([
    [{ repeat: { every: 1 } }, 'opts.repeat', /upsertJobScheduler/],
    [{ repeatJobKey: 'k' }, 'opts.repeatJobKey', /internal to BullMQ job schedulers/],
    [{ prevMillis: 1 }, 'opts.prevMillis', /internal to BullMQ job schedulers/],
    [{ weird: 1 }, 'opts.weird', /accepted: removeOnComplete, removeOnFail, attempts, backoff, priority, delay, jobId/],
    [{ attempts: 0 }, 'opts.attempts', /\[1,/],
    [{ delay: -1 }, 'opts.delay', /\[0,/],
    [{ jobId: '' }, 'opts.jobId', /non-empty string/],
    [{ timestamp: 1.5 }, 'opts.timestamp', /integer/],
    [{ lifo: 'yes' }, 'opts.lifo', /true or false/],
    [{ keepLogs: -1 }, 'opts.keepLogs', /\[0,/],
    [{ stackTraceLimit: -1 }, 'opts.stackTraceLimit', /\[0,/],
    [{ sizeLimit: 0 }, 'opts.sizeLimit', /\[1,/],
    [{ telemetry: 'x' }, 'opts.telemetry', /must be an object/],
    [{ telemetry: { tracer: 1 } }, 'opts.telemetry.tracer', /accepted: metadata, omitContext/],
    [{ telemetry: { metadata: 1 } }, 'opts.telemetry.metadata', /must be a string/],
    [{ telemetry: { omitContext: 1 } }, 'opts.telemetry.omitContext', /true or false/],
    [{ deduplication: { ttl: 5 } }, 'opts.deduplication.id', /non-empty string/],
    [{ deduplication: { id: 'd', ttl: 0 } }, 'opts.deduplication.ttl', /\[1,/],
    [{ deduplication: { id: 'd', delay: 1 } }, 'opts.deduplication.delay', /accepted: id, ttl, extend, replace, reschedule, keepLastIfActive/],
    [{ deduplication: { id: 'd', keepLastIfActive: 1 } }, 'opts.deduplication.keepLastIfActive', /true or false/],
    [{ parent: { id: 'p' } }, 'opts.parent.queue', /non-empty string/],
    [{ parent: { id: 'p', queue: 'q', x: 1 } }, 'opts.parent.x', /accepted: id, queue/],
    [{ removeDependencyOnFailure: 1 }, 'opts.removeDependencyOnFailure', /true or false/],
    [{ deduplication: 'd' }, 'opts.deduplication', /must be an object/],
    [{ deduplication: { id: 'd', extend: 1 } }, 'opts.deduplication.extend', /true or false/],
    [{ deduplication: { id: 'd', replace: 1 } }, 'opts.deduplication.replace', /true or false/],
    [{ deduplication: { id: 'd', reschedule: 1 } }, 'opts.deduplication.reschedule', /true or false/],
    [{ parent: 'p' }, 'opts.parent', /must be an object/],
    [{ parent: { queue: 'q' } }, 'opts.parent.id', /non-empty string/],
  ])('%j', (opts, path, rule) => {
    const err = rejection(() => resolveAddJobOptions('opts', opts));
    expect(err.path).toBe(path);
    expect(err.message).toMatch(rule);
  });
});

describe('assertEntityJobOptions', () => {
  it.each([
    ['lifo', true, /per-entity FIFO/],
    ['parent', { id: 'p', queue: 'q' }, /flow's parent/],
    ['deduplication', { id: 'd' }, /give opts.jobId/],
    ['failParentOnFailure', true, /only applies with opts.parent/],
    ['removeDependencyOnFailure', true, /only applies with opts.parent/],
  ])('refuses %s', (key, value, rule) => {
    const err = rejection(() => assertEntityJobOptions('opts', { [key]: value }, {}));
    expect(err.path).toBe(`opts.${key}`);
    expect(err.message).toMatch(rule);
  });

  it('accepts false flags and the module priority only', () => {
    expect(() => assertEntityJobOptions('opts', { lifo: false, failParentOnFailure: false, attempts: 3 }, {})).not.toThrow();
    expect(() => assertEntityJobOptions('opts', { priority: 0 }, {})).not.toThrow();
    expect(() => assertEntityJobOptions('opts', { priority: 4 }, { priority: 4 })).not.toThrow();
    expect(rejection(() => assertEntityJobOptions('opts', { priority: 1 }, {})).message).toMatch(/must be 0 \(queueDefaults.defaultJobOptions.priority\)/);
    expect(rejection(() => assertEntityJobOptions('opts', { priority: 0 }, { priority: 4 })).path).toBe('opts.priority');
  });
});
