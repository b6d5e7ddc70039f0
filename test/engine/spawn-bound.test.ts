import { afterEach, describe, expect, it } from 'vitest';
import { entityWorkerName } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { MAX_SPAWNS_IN_FLIGHT } from '../../src/engine/entity-dispatcher.service.js';
import { waitFor } from '../support/wait.js';
import { enginePrefix, sleep, startEngineNode, type EngineNode } from './support.js';

/**
 * Many entities become ready at once (an app start, a burst of new orders): the dispatcher keeps at most
 * MAX_SPAWNS_IN_FLIGHT spawns running and takes the next ready entities as spawns finish, so the event loop keeps
 * room for heartbeats and other nodes get a share. Every entity is still served.
 */
const nodes: EngineNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.moduleRef.close()));
});

describe('entity engine: spawns in flight are bounded', () => {
  it(`never runs more than MAX_SPAWNS_IN_FLIGHT (${MAX_SPAWNS_IN_FLIGHT}) spawns at once, and serves every entity`, async () => {
    const ENTITIES = MAX_SPAWNS_IN_FLIGHT * 4;
    const prefix = enginePrefix();
    const a = await startEngineNode(prefix, 'bounded', () => undefined, { engine: { pollInterval: 500 } });
    nodes.push(a);
    let inFlight = 0;
    let peak = 0;
    const ran = new Set<string>();
    a.moduleRef.get(CronManagerService).registerEntityType({
      entityType: 'invoice',
      onSpawnWorker: async (entityId) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          await sleep(20); // a slow spawn (e.g. a fencing lease taken first)
          const queue = a.queues.getOrCreateEntityQueue('invoice', entityId);
          await a.workers.createWorker({
            workerName: entityWorkerName('invoice', entityId),
            queueName: queue.name,
            processor: async () => void ran.add(entityId),
          });
        } finally {
          inFlight--;
        }
      },
    });
    await Promise.all(Array.from({ length: ENTITIES }, (_, i) => a.queues.addEntityJob('invoice', `i${i}`, 'bill', {})));
    await waitFor(() => ran.size === ENTITIES, 30_000, 'every entity served', 20);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(MAX_SPAWNS_IN_FLIGHT);
  }, 60_000);
});
