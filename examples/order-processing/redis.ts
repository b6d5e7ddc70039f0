import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { AtomicQueuesInMemoryPorts } from '@nestjs/atomic-queues/testing';
import { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from './config.js';

/** The app's own Redis connection (order progress); the module manages its connections itself. */
export const APP_REDIS = Symbol('order-processing:redis');

/** On a real Redis: the app's own connection, closed by `AppRedisCloser`. */
export const appRedisProviders = (redisUrl: string): Provider[] => [
  {
    provide: APP_REDIS,
    inject: [APP_CONFIG],
    useFactory: (config: AppConfig) => {
      const redis = new Redis(redisUrl, { connectionName: `${config.keyPrefix}-example-app`, maxRetriesPerRequest: 3 });
      // While Redis is down, each reconnect attempt emits an error: the module logs the outage once and
      // /health/ready reports it; this app's commands fail on their own (HTTP 500).
      redis.on('error', () => undefined);
      return redis;
    },
  },
  AppRedisCloser,
];

/** Embedded: the in-memory Redis of `AtomicQueuesEmbeddedModule` (closed by that module). */
export const embeddedRedisProviders: Provider[] = [
  { provide: APP_REDIS, inject: [AtomicQueuesInMemoryPorts], useFactory: (ports: AtomicQueuesInMemoryPorts) => ports.redis.client },
];

@Injectable()
export class AppRedisCloser implements OnApplicationShutdown {
  constructor(@Inject(APP_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
