import type { Cluster, Redis } from 'ioredis';

/**
 * Key/value + pub/sub port for everything that is not a BullMQ queue: heartbeats, locks, indices, shutdown
 * signals. Production: ioredis (`Redis` or `Cluster`); testing: ioredis-mock sharing the test clock.
 */
export type RedisClient = Redis | Cluster;

/** Command connection (never used in subscriber mode). */
export const ATOMIC_QUEUES_REDIS = Symbol.for('@nestjs/atomic-queues:redis');
/** Dedicated subscriber connection for shutdown signals. */
export const ATOMIC_QUEUES_REDIS_SUBSCRIBER = Symbol.for('@nestjs/atomic-queues:redis-subscriber');
/**
 * Optional dedicated connection for the node's batched heartbeat refresh, so it never waits behind the command
 * connection's backlog (index updates, cron scans) under load. Not provided: the command connection is used.
 */
export const ATOMIC_QUEUES_REDIS_HEARTBEAT = Symbol.for('@nestjs/atomic-queues:redis-heartbeat');
