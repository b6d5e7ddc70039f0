import { describe, expect, it } from 'vitest';
import {
  jobPlan,
  nodeAppEnv,
  producerEnv,
  readNodeAppSettings,
  readProducerSettings,
} from '../../toolkit/cluster/settings.js';

const asEnv = (values: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));

describe('cluster settings', () => {
  it('round-trips node app settings through the environment', () => {
    const env = asEnv({
      REDIS_URL: 'redis://x:1',
      NODE_ID: 'n1',
      ...nodeAppEnv({ keyPrefix: 'p1', heartbeatTtlMs: 1500, jobRules: [{ entityId: 'e-1', seq: 2, failTimes: 2 }], fencing: true, raceEntities: ['e-0', 'e-1'] }),
    });
    expect(readNodeAppSettings(env)).toMatchObject({
      redisUrl: 'redis://x:1',
      nodeId: 'n1',
      keyPrefix: 'p1',
      entityType: 'order',
      heartbeatTtlMs: 1500,
      heartbeatIntervalMs: 500,
      jobRules: [{ entityId: 'e-1', seq: 2, failTimes: 2 }],
      fencing: true,
      raceEntities: ['e-0', 'e-1'],
      workerConcurrency: 1,
    });
  });

  it('round-trips producer settings', () => {
    const env = asEnv({ REDIS_URL: 'redis://x:1', ...producerEnv({ enqueueFile: '/tmp/e.jsonl', entityOffset: 17, entityCount: 16, attempts: 3 }) });
    expect(readProducerSettings(env)).toMatchObject({
      entityOffset: 17, entityCount: 16, attempts: 3, jobsPerEntity: 10, ratePerSecond: 0, durationMs: 0, removeOnComplete: false,
    });
    const soak = asEnv({ REDIS_URL: 'redis://x:1', ...producerEnv({ enqueueFile: '/tmp/e.jsonl', durationMs: 120_000, removeOnComplete: true }) });
    expect(readProducerSettings(soak)).toMatchObject({ durationMs: 120_000, removeOnComplete: true });
  });

  it('rejects bad values naming the variable and the accepted values', () => {
    const base = { REDIS_URL: 'redis://x:1', NODE_ID: 'n1' };
    expect(() => readNodeAppSettings({ NODE_ID: 'n1' })).toThrow('REDIS_URL is required (a non-empty string)');
    expect(() => readNodeAppSettings({ ...base, AQ_JOB_MS: 'fast' })).toThrow('AQ_JOB_MS="fast" is invalid; accepted values: an integer >= 0');
    expect(() => readNodeAppSettings({ ...base, AQ_WORKER_CONCURRENCY: '0' })).toThrow('AQ_WORKER_CONCURRENCY="0" is invalid; accepted values: an integer >= 1');
    expect(() => readNodeAppSettings({ ...base, AQ_FENCING: 'yes' })).toThrow('AQ_FENCING="yes" is invalid; accepted values: 1, true, 0, false');
    expect(() => readNodeAppSettings({ ...base, AQ_JOB_RULES: '{' })).toThrow(/AQ_JOB_RULES is not valid JSON/);
    expect(() => readNodeAppSettings({ ...base, AQ_JOB_RULES: '[{"seq":-1}]' })).toThrow('AQ_JOB_RULES[0].seq must be an integer >= 0, got -1');
    expect(() => readNodeAppSettings({ ...base, AQ_JOB_RULES: '[{"times":2}]' })).toThrow(
      'AQ_JOB_RULES[0].times is not a known field; accepted: entityId, seq, failTimes, delayMs',
    );
    expect(() => readProducerSettings({ REDIS_URL: 'redis://x:1' })).toThrow('AQ_ENQUEUE_FILE is required');
  });

  it('jobPlan applies the first matching rule per field', () => {
    const rules = [{ entityId: 'e-1', seq: 3, failTimes: 2 }, { entityId: 'e-1', delayMs: 100 }, { delayMs: 7 }];
    expect(jobPlan(rules, 'e-1', 3, 5)).toEqual({ delayMs: 100, failTimes: 2 });
    expect(jobPlan(rules, 'e-1', 4, 5)).toEqual({ delayMs: 100, failTimes: 0 });
    expect(jobPlan(rules, 'e-2', 3, 5)).toEqual({ delayMs: 7, failTimes: 0 });
    expect(jobPlan([], 'e-2', undefined, 5)).toEqual({ delayMs: 5, failTimes: 0 });
  });
});
