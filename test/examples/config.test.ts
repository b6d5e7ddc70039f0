import { describe, expect, it } from 'vitest';
import { loadAppConfig } from '../../examples/order-processing/config.js';
import { orderInputProblems, toOrderInput } from '../../examples/order-processing/orders/order-input.js';

describe('example app configuration', () => {
  it('has defaults for a local run', () => {
    expect(loadAppConfig({})).toMatchObject({ redisUrl: undefined, port: 3000, keyPrefix: 'aq-example', cronIntervalMs: 250, stepDelayMs: 20 });
    expect(loadAppConfig({}).historyFile).toBeUndefined();
  });

  it('reads every variable and names a bad one with what is accepted', () => {
    const c = loadAppConfig({ REDIS_URL: 'redis://h:1', PORT: '0', NODE_ID: 'n1', AQ_KEY_PREFIX: 'p', AQ_HISTORY_FILE: '/tmp/h', AQ_ENQUEUE_FILE: '/tmp/e', AQ_CRON_INTERVAL_MS: '50', AQ_STEP_DELAY_MS: '0' });
    expect(c).toEqual({ redisUrl: 'redis://h:1', port: 0, nodeId: 'n1', keyPrefix: 'p', historyFile: '/tmp/h', enqueueFile: '/tmp/e', cronIntervalMs: 50, stepDelayMs: 0, dashboardQueues: 20 });
    expect(() => loadAppConfig({ PORT: '-1' })).toThrow('PORT="-1" is invalid; accepted values: an integer >= 0');
    expect(() => loadAppConfig({ AQ_CRON_INTERVAL_MS: '5' })).toThrow('AQ_CRON_INTERVAL_MS="5" is invalid; accepted values: an integer >= 10');
    expect(() => loadAppConfig({ REDIS_URL: 'localhost:6379' })).toThrow(/REDIS_URL="localhost:6379" is invalid; accepted values: redis:\/\//);
    expect(() => loadAppConfig({ AQ_KEY_PREFIX: 'a:b' })).toThrow(/AQ_KEY_PREFIX="a:b" is invalid/);
  });
});

describe('order input', () => {
  it('accepts a valid order and fills in an id', () => {
    const body = { items: [{ sku: 'a', quantity: 2, extra: true }], amount: 9.5 };
    expect(orderInputProblems(body)).toEqual([]);
    const input = toOrderInput(body);
    expect(input.items).toEqual([{ sku: 'a', quantity: 2 }]);
    expect(input.orderId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('names every bad field', () => {
    expect(orderInputProblems({ items: [null, { sku: 'x', quantity: 1.5 }], amount: 'ten' })).toEqual([
      'items[0] must be an object { sku, quantity }',
      'items[1].quantity must be a positive integer (got 1.5)',
      'amount must be a number > 0 (got "ten")',
    ]);
    expect(orderInputProblems(null)).toEqual(['body must be a JSON object']);
  });
});
