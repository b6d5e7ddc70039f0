import { randomBytes } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import type { AtomicQueuesConfig } from '../../src/config/atomic-queues-config.js';
import { entityWorkerName } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { EngineSignals } from '../../src/engine/engine-signals.service.js';
import { EntityDispatcher } from '../../src/engine/entity-dispatcher.service.js';
import { AtomicQueuesModule } from '../../src/module/atomic-queues.module.js';
import { QueueManagerService } from '../../src/queues/queue-manager.service.js';
import { WorkerManagerService } from '../../src/workers/worker-manager.service.js';

/** One "node" (a Nest app) serving the entity type `order` through the engine, on the tests' Redis. */
export interface EngineNode {
  nodeId: string;
  moduleRef: TestingModule;
  queues: QueueManagerService;
  workers: WorkerManagerService;
  signals: EngineSignals;
  dispatcher: EntityDispatcher;
  /** Every processor start on this node: entity id, the job's `n`, wall time and a process-wide start order. */
  runs: Array<{ entityId: string; n: number; at: number; order: number }>;
}

let starts = 0;

export const enginePrefix = (): string => `en${randomBytes(5).toString('hex')}`;

export async function startEngineNode(
  prefix: string,
  nodeId: string,
  process: (job: Job<{ n: number }>, entityId: string) => Promise<void> | void,
  overrides: Partial<Omit<AtomicQueuesConfig, 'redis'>> = {},
): Promise<EngineNode> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      AtomicQueuesModule.forRoot({
        redis: { url: inject('redisUrl') },
        keyPrefix: prefix,
        nodeId,
        workerDefaults: { heartbeatTTL: 1, heartbeatInterval: 200, stalledInterval: 300, lockDuration: 5000 },
        ...overrides,
      }),
    ],
  }).compile();
  await moduleRef.init();
  const node: EngineNode = {
    nodeId,
    moduleRef,
    queues: moduleRef.get(QueueManagerService),
    workers: moduleRef.get(WorkerManagerService),
    signals: moduleRef.get(EngineSignals),
    dispatcher: moduleRef.get(EntityDispatcher),
    runs: [],
  };
  moduleRef.get(CronManagerService).registerEntityType({
    entityType: 'order',
    onSpawnWorker: async (entityId) => {
      const queue = await node.queues.getOrCreateEntityQueue('order', entityId);
      await node.workers.createWorker<{ n: number }>({
        workerName: entityWorkerName('order', entityId),
        queueName: queue.name,
        processor: async (job) => {
          node.runs.push({ entityId, n: job.data.n, at: Date.now(), order: starts++ });
          await process(job, entityId);
        },
      });
    },
  });
  return node;
}

/** Connections the server holds right now whose name starts with `aq:` (the module names all of its own). */
export async function moduleConnections(redisUrl: string, nodeId: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    const list = String(await redis.client('LIST'));
    return list.split('\n').filter((line) => line.includes(`name=aq:${nodeId}:`)).length;
  } finally {
    redis.disconnect();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
