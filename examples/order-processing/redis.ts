import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from './config.js';

/** The app's own Redis connection (order progress); the module manages its connections itself. */
export const APP_REDIS = Symbol('order-processing:redis');

export const appRedisProvider: Provider = {
  provide: APP_REDIS,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) => new Redis(config.redisUrl, { connectionName: `${config.keyPrefix}-example-app`, maxRetriesPerRequest: 3 }),
};

@Injectable()
export class AppRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(APP_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
