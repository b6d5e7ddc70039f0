import { describe, expect, it } from 'vitest';
import { GENERIC_ENTITY_TYPES, GENERIC_JOB_NAME, genericJobProblems } from '../../examples/order-processing/entities/generic-jobs.js';
import { LOAD_ENTITY_TYPE, LOAD_JOB_NAME, entityJobBody, entityJobPath, parseEnqueueReply, producerJobId } from '../../load/lib/payload.js';
import { DEFAULT_LIMITS, PROFILES, evaluateThresholds, k6Scenarios, k6Thresholds, limitsFor, resolveProfile, vusForRate } from '../../load/lib/scenarios.js';

describe('load payloads', () => {
  it('match what the example app accepts', () => {
    expect(GENERIC_ENTITY_TYPES).toContain(LOAD_ENTITY_TYPE);
    expect(GENERIC_JOB_NAME).toBe(LOAD_JOB_NAME);
    expect(genericJobProblems(LOAD_ENTITY_TYPE, entityJobBody(3, 1, 8, producerJobId('run-e1', 3)))).toEqual([]);
  });

  it('are refused by the app with messages naming the field when malformed', () => {
    expect(genericJobProblems('orders', { seq: -1, jobId: 'a b' })).toEqual([
      'entity type "orders" is not accepted; accepted values: load',
      'seq must be a non-negative integer (got -1)',
      'jobId must be 1-200 characters of A-Z a-z 0-9 _ . - and not only digits (got "a b")',
    ]);
    expect(genericJobProblems('load', { seq: 0, jobId: '123' })[0]).toMatch(/not only digits/);
    expect(genericJobProblems('load', [1])).toEqual(['body must be a JSON object { seq, jobId?, payload? }']);
  });

  it('builds the path with encoded parts and a padded body', () => {
    expect(entityJobPath('load', 'a b/c')).toBe('/entities/load/a%20b%2Fc/jobs');
    const body = entityJobBody(7, 1234, 10);
    expect(body).toEqual({ seq: 7, payload: { sentAt: 1234, pad: 'xxxxxxxxxx' } });
    expect(() => entityJobBody(-1, 0)).toThrow(/seq must be a non-negative integer, got -1/);
    expect(() => entityJobBody(0, 0, 1.5)).toThrow(/padBytes must be a non-negative integer, got 1.5/);
    expect(entityJobBody(2, 5, 0, producerJobId('r1-e3', 2))).toEqual({ seq: 2, jobId: 'r1-e3-2', payload: { sentAt: 5, pad: '' } });
  });

  it('parses replies and names what is missing', () => {
    expect(parseEnqueueReply('{"jobId":"j1","queue":"load-e1-queue","seq":3}')).toEqual({ jobId: 'j1', queue: 'load-e1-queue', seq: 3 });
    expect(() => parseEnqueueReply('<html>')).toThrow(/not JSON/);
    expect(() => parseEnqueueReply('{"queue":"q","seq":1}')).toThrow(/no jobId/);
    expect(() => parseEnqueueReply('{"jobId":"j","seq":1}')).toThrow(/no queue/);
    expect(() => parseEnqueueReply('{"jobId":"j","queue":"q"}')).toThrow(/no seq/);
  });
});

describe('load scenarios', () => {
  it('resolves profiles by name and lists the accepted ones otherwise', () => {
    expect(resolveProfile('smoke')).toEqual(PROFILES.smoke);
    expect(() => resolveProfile('huge')).toThrow('unknown profile "huge"; accepted: smoke, standard, stress');
  });

  it('sizes VUs from rate and latency', () => {
    expect(vusForRate(100, 50)).toEqual({ preAllocatedVUs: 5, maxVUs: 20 });
    expect(vusForRate(1, 50)).toEqual({ preAllocatedVUs: 2, maxVUs: 8 });
  });

  it('defines a constant-arrival-rate scenario then a per-vu-iterations one after it', () => {
    const s = k6Scenarios({ ...PROFILES.smoke, rate: 200, durationS: 30, hotVus: 3, hotIterations: 50 });
    expect(s.many_entities).toMatchObject({ executor: 'constant-arrival-rate', rate: 200, duration: '30s', exec: 'manyEntities' });
    expect(s.hot_entity).toMatchObject({ executor: 'per-vu-iterations', vus: 3, iterations: 50, startTime: '35s', exec: 'hotEntity' });
  });

  it('expresses the limits as k6 thresholds and evaluates the same limits in Node', () => {
    expect(k6Thresholds({ enqueueP95Ms: 100, enqueueP99Ms: 300, maxRejected: 0, maxFailedRate: 0.05 })).toEqual({
      enqueue_latency: ['p(95)<100', 'p(99)<300'],
      enqueue_rejected: ['count<=0'],
      http_req_failed: ['rate<0.05'],
    });
    const good = evaluateThresholds({ p95Ms: 10, p99Ms: 20, rejected: 0, requests: 100, errors: 0 });
    expect(good.every((t) => t.ok)).toBe(true);
    const bad = evaluateThresholds({ p95Ms: DEFAULT_LIMITS.enqueueP95Ms, p99Ms: 20, rejected: 1, requests: 50, errors: 1 });
    expect(bad.filter((t) => !t.ok).map((t) => t.name)).toEqual(['enqueue_latency p(95)', 'enqueue_rejected', 'http_req_failed']);
    expect(bad.find((t) => t.name === 'http_req_failed')!.value).toBeCloseTo(0.04);
  });

  it('loosens only the latency limits of the smoke profile', () => {
    expect(limitsFor('standard')).toEqual(DEFAULT_LIMITS);
    expect(limitsFor('smoke')).toMatchObject({ maxRejected: 0, maxFailedRate: 0.01 });
    expect(limitsFor('smoke').enqueueP95Ms).toBeGreaterThan(DEFAULT_LIMITS.enqueueP95Ms);
    expect(() => limitsFor('nope')).toThrow(/unknown profile "nope"/);
  });
});
