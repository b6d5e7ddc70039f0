import { afterEach, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { enginePrefix, moduleConnections, sleep, startEngineNode, type EngineNode } from './support.js';

/**
 * The entity engine on real Redis: entity workers share the node's connections, new entities are taken from the
 * ready set without any cron tick (the cron is off in every test here), a node serves at most
 * `maxActiveEntitiesPerNode` entities at once, idle entities are released without losing a job added meanwhile,
 * and delayed jobs of unowned entities start on time.
 */
const nodes: EngineNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.moduleRef.close()));
});

async function node(prefix: string, id: string, ...rest: Parameters<typeof startEngineNode> extends [unknown, unknown, ...infer R] ? R : never) {
  const n = await startEngineNode(prefix, id, ...rest);
  nodes.push(n);
  return n;
}

function expectFifo(n: EngineNode[], perEntity: Map<string, number>): void {
  const runs = n.flatMap((x) => x.runs).sort((x, y) => x.order - y.order);
  for (const [entityId, count] of perEntity) {
    const seqs = runs.filter((r) => r.entityId === entityId).map((r) => r.n);
    expect(seqs, `entity ${entityId}`).toEqual(Array.from({ length: count }, (_, i) => i));
  }
}

describe('entity engine (real Redis)', () => {
  it('serves 300 entities with a fixed number of connections and no cron tick, FIFO per entity', async () => {
    const prefix = enginePrefix();
    const redisUrl = inject('redisUrl');
    const a = await node(prefix, `conn-${prefix}`, async () => sleep(1));
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await moduleConnections(redisUrl, a.nodeId));
        await sleep(50);
      }
    })();
    const perEntity = new Map<string, number>();
    for (let e = 0; e < 300; e++) perEntity.set(`c${e}`, 3);
    for (let n = 0; n < 3; n++) {
      await Promise.all([...perEntity.keys()].map((id) => a.queues.addEntityJob('order', id, 'step', { n })));
    }
    await waitFor(() => a.runs.length === 900, 60_000, 'all 900 jobs', 50);
    sampling = false;
    await sampler;
    expectFifo([a], perEntity);
    // command, subscriber, heartbeat, the driver's queue and worker connections: 5, whatever the entity count.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(5);
    expect(a.dispatcher.stats.taken).toBeGreaterThanOrEqual(300);
  });

  it('never serves more than maxActiveEntitiesPerNode entities at once, and still finishes every entity', async () => {
    const prefix = enginePrefix();
    let running = 0;
    let maxRunning = 0;
    let maxLocal = 0;
    const a = await node(prefix, 'cap', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      maxLocal = Math.max(maxLocal, a.signals.activeManaged);
      await sleep(20);
      running--;
    }, { engine: { maxActiveEntitiesPerNode: 4, idleReleaseMs: 5000 } });
    const perEntity = new Map<string, number>();
    for (let e = 0; e < 20; e++) perEntity.set(`m${e}`, 2);
    for (let n = 0; n < 2; n++) for (const id of perEntity.keys()) await a.queues.addEntityJob('order', id, 'step', { n });
    // idleReleaseMs is long: entities waiting for a slot make idle workers give theirs up at once.
    await waitFor(() => a.runs.length === 40, 30_000, 'all 40 jobs', 20);
    expectFifo([a], perEntity);
    expect(maxRunning).toBeLessThanOrEqual(4);
    expect(maxLocal).toBeLessThanOrEqual(4);
    expect(maxRunning).toBeGreaterThan(1);
  });

  it('loses no job added while its entity is being released (add racing the idle release)', async () => {
    const prefix = enginePrefix();
    // A 10 ms idle release and a one-minute poll: only the ready signal and the release protocol can deliver.
    const a = await node(prefix, 'race-a', () => undefined, { engine: { idleReleaseMs: 10, pollInterval: 60_000 } });
    const b = await node(prefix, 'race-b', () => undefined, { engine: { idleReleaseMs: 10, pollInterval: 60_000 } });
    const perEntity = new Map<string, number>();
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 200; i++) {
      const id = `r${i % 4}`;
      const n = perEntity.get(id) ?? 0;
      perEntity.set(id, n + 1);
      await (i % 2 ? a : b).queues.addEntityJob('order', id, 'step', { n });
      await sleep(Math.floor(rand() * 25));
    }
    await waitFor(() => a.runs.length + b.runs.length === 200, 20_000, 'all 200 jobs', 20);
    expectFifo([a, b], perEntity);
  });

  it('starts a delayed job of an unowned entity when it is due, not at the next poll', async () => {
    const prefix = enginePrefix();
    const a = await node(prefix, 'delay', () => undefined, { engine: { pollInterval: 60_000 } });
    const added = Date.now();
    await a.queues.addEntityJob('order', 'd1', 'later', { n: 0 }, { delay: 600 });
    await waitFor(() => a.runs.length === 1, 10_000, 'the delayed job', 10);
    const startedAfter = a.runs[0]!.at - added;
    expect(startedAfter).toBeGreaterThanOrEqual(590);
    expect(startedAfter).toBeLessThan(5_000);
  });

  it('two nodes share new entities: neither takes them all (40 orders, as a new user tries it)', async () => {
    const prefix = enginePrefix();
    const a = await node(prefix, 'share-a', () => sleep(50));
    const b = await node(prefix, 'share-b', () => sleep(50));
    for (let e = 0; e < 40; e++) await a.queues.addEntityJob('order', `s${e}`, 'step', { n: 0 });
    await waitFor(() => a.runs.length + b.runs.length === 40, 20_000, 'all 40 orders', 20);
    const share = new Set(a.runs.map((r) => r.entityId)).size / 40;
    expect(share).toBeGreaterThanOrEqual(0.2);
    expect(share).toBeLessThanOrEqual(0.8);
  });
});
