import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';

describe('test infrastructure', () => {
  it('reaches the integration Redis', async () => {
    const redis = new Redis(inject('redisUrl'));
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });
});
