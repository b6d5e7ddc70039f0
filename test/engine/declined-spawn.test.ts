import { afterEach, describe, expect, it } from 'vitest';
import { entityWorkerName } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import { waitFor } from '../support/wait.js';
import { enginePrefix, sleep, startEngineNode, type EngineNode } from './support.js';

/**
 * An onSpawnWorker that declines (returns without createWorker) — the fencing pattern does when the entity's lease
 * is still held by its previous owner, which releases it in `onClosed`, after the engine has already marked the
 * entity ready again. The dispatcher took the entity out of the ready set; it must come back for another try,
 * with no cron tick (the cron is off here); the dispatcher's poll only takes entities that are ready.
 */
const nodes: EngineNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.moduleRef.close()));
});

describe('entity engine: a declined spawn', () => {
  it('is retried shortly while the entity has work, and the job runs', async () => {
    const prefix = enginePrefix();
    const a = await startEngineNode(prefix, 'declines', () => undefined, { engine: { pollInterval: 8000 } });
    nodes.push(a);
    const ran: string[] = [];
    let declines = 1;
    let calls = 0;
    a.moduleRef.get(CronManagerService).registerEntityType({
      entityType: 'invoice',
      onSpawnWorker: async (entityId) => {
        calls++;
        if (declines-- > 0) return; // e.g. the previous owner's lease is not released yet
        const queue = await a.queues.getOrCreateEntityQueue('invoice', entityId);
        await a.workers.createWorker({
          workerName: entityWorkerName('invoice', entityId),
          queueName: queue.name,
          processor: async (job) => void ran.push(String(job.id)),
        });
      },
    });
    await a.queues.addEntityJob('invoice', 'i1', 'bill', {}, { jobId: 'i1.0' });
    // Retried a quarter poll later (2 s here); the poll itself only takes ready entities, so it cannot rescue it.
    await waitFor(() => ran.length === 1, 6000, 'the job of the declined entity', 50);
    expect(ran).toEqual(['i1.0']);
    expect(calls).toBe(2);
    expect(a.dispatcher.stats.declined).toBe(1);
  }, 30_000);

  it('is not retried when the entity has no work left', async () => {
    const prefix = enginePrefix();
    const a = await startEngineNode(prefix, 'declines-idle', () => undefined, { engine: { pollInterval: 400 } });
    nodes.push(a);
    let calls = 0;
    a.moduleRef.get(CronManagerService).registerEntityType({
      entityType: 'invoice',
      onSpawnWorker: async (entityId) => {
        calls++;
        // declines, and the work disappears meanwhile (removed by the app)
        const queue = await a.queues.getOrCreateEntityQueue('invoice', entityId);
        await queue.obliterate({ force: true });
      },
    });
    await a.queues.addEntityJob('invoice', 'i2', 'bill', {});
    await waitFor(() => calls === 1, 10_000, 'the first spawn', 20);
    await sleep(1500); // several quarter polls and polls
    expect(calls).toBe(1);
    expect(a.dispatcher.stats.declined).toBe(0);
  }, 20_000);
});
