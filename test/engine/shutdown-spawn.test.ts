import { afterEach, describe, expect, it } from 'vitest';
import { entityWorkerName } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { waitFor } from '../support/wait.js';
import { enginePrefix, sleep, startEngineNode, type EngineNode } from './support.js';

/**
 * A node shuts down while its dispatcher is inside an `onSpawnWorker` call: the entity was taken out of the ready
 * set, so unless the spawn finishes (and the shutdown then closes its worker, which re-marks the work left) or the
 * entity is marked ready again, the other nodes never hear of it (the cron is off here, the poll only takes
 * ready entities). Before: the spawn ran on into the closed node ("the queue driver is closed", logged as an
 * error) and the entity's job waited for a cron tick.
 */
const nodes: EngineNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.moduleRef.close()));
});

const quiet = { enableCronManager: false, engine: { pollInterval: 8000 } };

describe('entity engine: a spawn in flight when the node shuts down', () => {
  for (const variant of ['finishes within the shutdown', 'is cut by the shutdown'] as const) {
    it(`${variant}: the entity goes to another node and its job runs there`, async () => {
      const prefix = enginePrefix();
      // The spawn outlives shutdownTimeoutMs in the second variant: the node stops waiting and closes under it.
      const spawnMs = variant === 'is cut by the shutdown' ? 1500 : 400;
      const a = await startEngineNode(prefix, 'stopping', () => undefined, { ...quiet, shutdownTimeoutMs: 600 });
      const b = await startEngineNode(prefix, 'staying', () => undefined, quiet);
      nodes.push(b);
      const ranOn: string[] = [];
      const errors: string[] = [];
      let spawnStarted = false;
      a.moduleRef.get(CronManagerService).registerEntityType({
        entityType: 'invoice',
        onSpawnWorker: async (entityId) => {
          spawnStarted = true;
          await sleep(spawnMs); // e.g. a slow fencing-lease read
          try {
            const queue = await a.queues.getOrCreateEntityQueue('invoice', entityId);
            await a.workers.createWorker({
              workerName: entityWorkerName('invoice', entityId),
              queueName: queue.name,
              processor: async () => void ranOn.push('stopping'),
            });
          } catch (err) {
            errors.push(String(err));
            throw err;
          }
        },
      });
      await a.queues.addEntityJob('invoice', 'i1', 'bill', {}, { jobId: 'i1.0' });
      await waitFor(() => spawnStarted, 5000, 'node A taking the entity', 10);
      // B can serve the type from now on; the entity is no longer in the ready set (A took it).
      b.moduleRef.get(CronManagerService).registerEntityType({
        entityType: 'invoice',
        onSpawnWorker: async (entityId) => {
          const queue = await b.queues.getOrCreateEntityQueue('invoice', entityId);
          await b.workers.createWorker({
            workerName: entityWorkerName('invoice', entityId),
            queueName: queue.name,
            processor: async () => void ranOn.push('staying'),
          });
        },
      });
      await a.moduleRef.close();
      // Well within the 8 s poll: only a ready mark made by A's shutdown brings B (or A ran it before closing).
      await waitFor(() => ranOn.length === 1, 5000, 'the job run (by A before it closed, or by B)', 20);
      await sleep(300);
      expect(ranOn).toHaveLength(1);
      if (variant === 'finishes within the shutdown') expect(errors).toEqual([]);
      else expect(ranOn).toEqual(['staying']);
    }, 30_000);
  }
});
