import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { TestClock } from '../../testing/clock/test-clock.js';
import { entityWorkerName, keys } from '../../src/config/keys.js';
import { CronManagerService } from '../../src/cron/cron-manager.service.js';
import type { CronTickReport, EntityTypeRegistration } from '../../src/cron/cron.types.js';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { IndexManagerService, type WorkerState } from '../../src/index/index-manager.service.js';
import { AtomicQueuesModule } from '../../src/module/atomic-queues.module.js';
import { ATOMIC_QUEUES_CLOCK, type Clock } from '../../src/ports/clock.js';
import { ATOMIC_QUEUES_REDIS, type RedisClient } from '../../src/ports/redis.js';
import { deferred } from '../core/support.js';

/**
 * CronManagerService on real Redis inside real Nest apps (AtomicQueuesModule), one keyPrefix per test.
 * The cron only reads the index (pending jobs, worker states) and heartbeats, so workers are simulated by
 * writing exactly that state: a heartbeat key plus a 'running' worker state. Spawn callbacks do the same.
 */
interface Node {
  nodeId: string;
  moduleRef: TestingModule;
  cron: CronManagerService;
  index: IndexManagerService;
  redis: RedisClient;
}

let prefix: string;
const nodes: Node[] = [];

async function startNode(nodeId: string, clock?: Clock): Promise<Node> {
  let builder = Test.createTestingModule({
    // The cron alone: the engine's dispatcher (which also spawns ready entities) and the index sweeper are off in
    // these unit tests (the timer tests below list the clock's pending timers).
    imports: [AtomicQueuesModule.forRoot({ redis: { url: inject('redisUrl') }, keyPrefix: prefix, nodeId, engine: { dispatch: false }, indexSweep: { interval: 0 } })],
  });
  if (clock) builder = builder.overrideProvider(ATOMIC_QUEUES_CLOCK).useValue(clock);
  const moduleRef = await builder.compile();
  await moduleRef.init();
  const node = {
    nodeId,
    moduleRef,
    cron: moduleRef.get(CronManagerService),
    index: moduleRef.get(IndexManagerService),
    redis: moduleRef.get<RedisClient>(ATOMIC_QUEUES_REDIS),
  };
  nodes.push(node);
  return node;
}

/** What a live worker looks like to the cron: a heartbeat and a worker state in the index. */
async function fakeWorker(node: Node, entityType: string, entityId: string, workerName = entityWorkerName(entityType, entityId), state: WorkerState = 'running'): Promise<string> {
  await node.redis.set(keys.heartbeat(prefix, workerName), `${node.nodeId}|fake`, 'PX', 60_000);
  await node.index.setWorkerState(entityType, entityId, workerName, state);
  return workerName;
}

/** A registration whose onSpawnWorker records the call and brings up a (simulated) worker. */
function spawningRegistration(node: Node, entityType: string, spawned: string[], extra: Partial<EntityTypeRegistration> = {}): EntityTypeRegistration {
  return {
    entityType,
    onSpawnWorker: async (entityId) => {
      const slot = spawned.filter((id) => id === entityId).length;
      spawned.push(entityId);
      await fakeWorker(node, entityType, entityId, `${entityWorkerName(entityType, entityId)}-${slot}`);
    },
    ...extra,
  };
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
const ids = (refs: { entityId: string }[]) => sorted(refs.map((r) => r.entityId));

beforeEach(() => {
  prefix = `cr-${randomBytes(6).toString('hex')}`;
  vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
});

afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.moduleRef.close()));
  vi.restoreAllMocks();
});

describe('CronManagerService.tick', () => {
  it('spawns a worker for each entity with pending jobs and no live worker, once', async () => {
    const node = await startNode('node-a');
    await node.index.indexJob('order', 'o1', 'j1');
    await node.index.indexJob('order', 'o2', 'j2');
    await node.index.indexJob('order', 'o3', 'j3');
    await fakeWorker(node, 'order', 'o3');
    await node.index.indexJob('user', 'u1', 'j4'); // a type nobody registered
    const spawned: string[] = [];
    node.cron.registerEntityType(spawningRegistration(node, 'order', spawned));

    const first = await node.cron.tick();
    expect(sorted(spawned)).toEqual(['o1', 'o2']);
    expect(ids(first.spawned)).toEqual(['o1', 'o2']);
    expect(first.terminated).toEqual([]);
    expect(first.errors).toEqual([]);

    const second = await node.cron.tick();
    expect(second.spawned).toEqual([]);
    expect(spawned).toHaveLength(2);
  });

  it('spawns again once a worker died (heartbeat gone) and the spawn claim expired', async () => {
    const node = await startNode('node-a');
    await node.index.indexJob('order', 'o1', 'j1');
    const spawned: string[] = [];
    node.cron.registerEntityType(spawningRegistration(node, 'order', spawned, { spawnClaimMs: 60_000 }));
    await node.cron.tick();
    expect(spawned).toEqual(['o1']);

    await node.redis.del(keys.heartbeat(prefix, `${entityWorkerName('order', 'o1')}-0`)); // the worker crashed
    const blocked = await node.cron.tick();
    expect(blocked.claimedElsewhere).toEqual([{ entityType: 'order', entityId: 'o1' }]);
    expect(spawned).toEqual(['o1']);

    await node.redis.del(keys.cronSpawnClaim(prefix, 'order', 'o1', 0)); // the claim's TTL ran out
    await node.cron.tick();
    expect(spawned).toEqual(['o1', 'o1']);
  });

  it('keeps workers for getActiveEntityIds even without pending jobs', async () => {
    const node = await startNode('node-a');
    const spawned: string[] = [];
    node.cron.registerEntityType(spawningRegistration(node, 'room', spawned, { getActiveEntityIds: async () => ['r1', 'r2'] }));
    await node.cron.tick();
    expect(sorted(spawned)).toEqual(['r1', 'r2']);
    const again = await node.cron.tick();
    expect(again.terminated).toEqual([]);
  });

  it('never exceeds maxWorkersPerEntity, whatever getDesiredWorkerCount asks for', async () => {
    const node = await startNode('node-a');
    await node.index.indexJob('tenant', 't1', 'j1');
    await node.index.indexJob('tenant', 't1', 'j2');
    await node.index.indexJob('tenant', 't2', 'j3');
    const asked: [string, number][] = [];
    const spawned: string[] = [];
    node.cron.registerEntityType(
      spawningRegistration(node, 'tenant', spawned, {
        maxWorkersPerEntity: 2,
        getDesiredWorkerCount: (entityId, pending) => {
          asked.push([entityId, pending]);
          return entityId === 't1' ? 5 : 1;
        },
      }),
    );
    await node.cron.tick();
    expect(sorted(spawned)).toEqual(['t1', 't1', 't2']);
    expect(asked.sort()).toEqual([
      ['t1', 2],
      ['t2', 1],
    ]);
    await node.cron.tick();
    expect(spawned).toHaveLength(3);
    const states = await node.index.getEntityWorkerStates('tenant', 't1');
    expect(states).toHaveLength(2);
  });

  it('signals idle workers to close and calls onTerminateWorker; closing and dead workers are left alone', async () => {
    const node = await startNode('node-a');
    const subscriber = new Redis(inject('redisUrl'));
    const signals: string[] = [];
    subscriber.on('message', (channel) => signals.push(channel));
    try {
      await node.index.indexJob('order', 'busy', 'j1');
      await fakeWorker(node, 'order', 'busy');
      const idle = await fakeWorker(node, 'order', 'idle');
      await fakeWorker(node, 'order', 'leaving', undefined, 'closing');
      const dead = await fakeWorker(node, 'order', 'dead');
      await node.redis.del(keys.heartbeat(prefix, dead));
      await subscriber.subscribe(keys.shutdownChannel(prefix, idle), keys.shutdownChannel(prefix, entityWorkerName('order', 'busy')));

      const terminated: [string, string][] = [];
      node.cron.registerEntityType({
        entityType: 'order',
        onSpawnWorker: () => {
          throw new Error('nothing should be spawned');
        },
        onTerminateWorker: (entityId, workerName) => void terminated.push([entityId, workerName]),
      });
      const report = await node.cron.tick();
      expect(report.errors).toEqual([]);
      expect(report.terminated).toEqual([{ entityType: 'order', entityId: 'idle', workerName: idle }]);
      expect(terminated).toEqual([['idle', idle]]);
      await vi.waitFor(() => expect(signals).toEqual([keys.shutdownChannel(prefix, idle)]), { timeout: 2000 });
    } finally {
      subscriber.disconnect();
    }
  });

  it('closes only the workers above the desired count', async () => {
    const node = await startNode('node-a');
    await node.index.indexJob('tenant', 't1', 'j1');
    await fakeWorker(node, 'tenant', 't1', 'tenant-t1-worker-0');
    await fakeWorker(node, 'tenant', 't1', 'tenant-t1-worker-1');
    await fakeWorker(node, 'tenant', 't1', 'tenant-t1-worker-2');
    node.cron.registerEntityType({ entityType: 'tenant', maxWorkersPerEntity: 3, getDesiredWorkerCount: () => 1, onSpawnWorker: () => undefined });
    const report = await node.cron.tick();
    expect(report.terminated.map((t) => t.workerName)).toEqual(['tenant-t1-worker-0', 'tenant-t1-worker-1']);
  });

  it('two nodes ticking at the same time spawn exactly once per entity', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    const entityIds = Array.from({ length: 20 }, (_, i) => `e${i}`);
    for (const id of entityIds) await a.index.indexJob('order', id, `job-${id}`);
    const spawnedBy: Record<string, string[]> = { 'node-a': [], 'node-b': [] };
    for (const node of [a, b]) node.cron.registerEntityType(spawningRegistration(node, 'order', spawnedBy[node.nodeId]!));

    const reports: CronTickReport[] = await Promise.all([a.cron.tick(), b.cron.tick()]);
    const all = [...spawnedBy['node-a']!, ...spawnedBy['node-b']!];
    expect(sorted(all)).toEqual(sorted(entityIds));
    // what one node did not spawn, it saw claimed by the other
    for (const [i, r] of reports.entries()) {
      const other = reports[1 - i]!;
      expect(ids(r.claimedElsewhere)).toEqual(ids(other.spawned));
    }
    await Promise.all([a.cron.tick(), b.cron.tick()]);
    expect(spawnedBy['node-a']!.length + spawnedBy['node-b']!.length).toBe(entityIds.length);
  });

  it('reports and logs errors of user callbacks and carries on with the other entities', async () => {
    const node = await startNode('node-a');
    for (const id of ['ok1', 'boom', 'ok2']) await node.index.indexJob('order', id, `j-${id}`);
    const spawned: string[] = [];
    const base = spawningRegistration(node, 'order', spawned);
    node.cron.registerEntityType({
      ...base,
      onSpawnWorker: async (id) => {
        if (id === 'boom') throw new Error('spawn exploded');
        await base.onSpawnWorker(id);
      },
    });
    const report = await node.cron.tick();
    expect(sorted(spawned)).toEqual(['ok1', 'ok2']);
    expect(report.errors.map((e) => [e.stage, e.entityId, e.error.message])).toEqual([['onSpawnWorker', 'boom', 'spawn exploded']]);
    expect(Logger.prototype.error).toHaveBeenCalledWith(expect.stringContaining('onSpawnWorker failed for order/boom: spawn exploded'), expect.anything());
  });

  it('closes nothing while getActiveEntityIds fails, and rejects bad results of getDesiredWorkerCount', async () => {
    const node = await startNode('node-a');
    await fakeWorker(node, 'room', 'r1');
    await node.index.indexJob('room', 'r2', 'j');
    node.cron.registerEntityType({
      entityType: 'room',
      getActiveEntityIds: () => Promise.reject(new Error('directory down')),
      getDesiredWorkerCount: () => -1,
      onSpawnWorker: () => undefined,
    });
    const report = await node.cron.tick();
    expect(report.terminated).toEqual([]);
    expect(report.spawned).toEqual([]);
    expect(report.errors.map((e) => e.stage).sort()).toEqual(['getActiveEntityIds', 'getDesiredWorkerCount']);
    expect(report.errors.find((e) => e.stage === 'getDesiredWorkerCount')?.error.message).toContain('must be an integer >= 0');
  });
});

describe('CronManagerService timers (TestClock)', () => {
  it('ticks every interval, never overlaps a running tick, survives a failing tick and stops', async () => {
    const clock = new TestClock();
    const node = await startNode('node-a', clock);
    const ticks = vi.spyOn(node.index, 'getEntitiesWithJobs');
    await node.index.indexJob('order', 'o1', 'j1');
    let gate = deferred();
    let entered = deferred();
    let calls = 0;
    node.cron.registerEntityType({
      entityType: 'order',
      onSpawnWorker: async () => {
        calls++;
        entered.resolve();
        await gate.promise;
        throw new Error(`spawn ${calls} failed`);
      },
    });

    node.cron.start(1000);
    expect(node.cron.isRunning).toBe(true);
    await clock.advance(999);
    expect(ticks).not.toHaveBeenCalled();
    await clock.advance(1);
    await entered.promise; // tick 1 is inside onSpawnWorker
    await clock.advance(10_000);
    expect(ticks).toHaveBeenCalledTimes(1);
    expect(clock.pending()).toEqual([]); // the next tick is only scheduled when this one ends

    const joined = node.cron.tick(); // a manual tick joins the running one
    gate.resolve();
    const report = await joined;
    expect(report.errors.map((e) => e.error.message)).toEqual(['spawn 1 failed']);
    expect(ticks).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(clock.pending()).toHaveLength(1));
    expect(clock.pending()[0]!.inMs).toBe(1000);

    // the failing tick did not stop the cron: tick 2 comes one interval later (once the spawn claim is gone)
    gate = deferred();
    entered = deferred();
    await node.redis.del(keys.cronSpawnClaim(prefix, 'order', 'o1', 0));
    await clock.advance(1000);
    await entered.promise;
    expect(ticks).toHaveBeenCalledTimes(2);

    const stopping = node.cron.stop();
    gate.resolve();
    await stopping; // waited for tick 2
    expect(node.cron.isRunning).toBe(false);
    expect(clock.pending()).toEqual([]);
    await clock.advance(10_000);
    expect(ticks).toHaveBeenCalledTimes(2);
  });
});

describe('CronManagerService input validation', () => {
  let cron: CronManagerService;
  beforeEach(async () => {
    cron = (await startNode('node-v')).cron;
  });

  const cases: [string, unknown, string][] = [
    ['not an object', null, 'registration'],
    ['missing entityType', { onSpawnWorker: () => undefined }, 'entityType'],
    ["':' in entityType", { entityType: 'a:b', onSpawnWorker: () => undefined }, 'entityType'],
    ['missing onSpawnWorker', { entityType: 'order' }, 'onSpawnWorker'],
    ['onSpawnWorker not a function', { entityType: 'order', onSpawnWorker: 'spawn' }, 'onSpawnWorker'],
    ['onTerminateWorker not a function', { entityType: 'order', onSpawnWorker: () => undefined, onTerminateWorker: 1 }, 'onTerminateWorker'],
    ['getDesiredWorkerCount not a function', { entityType: 'order', onSpawnWorker: () => undefined, getDesiredWorkerCount: 2 }, 'getDesiredWorkerCount'],
    ['getActiveEntityIds not a function', { entityType: 'order', onSpawnWorker: () => undefined, getActiveEntityIds: ['a'] }, 'getActiveEntityIds'],
    ['maxWorkersPerEntity 0', { entityType: 'order', onSpawnWorker: () => undefined, maxWorkersPerEntity: 0 }, 'maxWorkersPerEntity'],
    ['maxWorkersPerEntity 1.5', { entityType: 'order', onSpawnWorker: () => undefined, maxWorkersPerEntity: 1.5 }, 'maxWorkersPerEntity'],
    ['spawnClaimMs -1', { entityType: 'order', onSpawnWorker: () => undefined, spawnClaimMs: -1 }, 'spawnClaimMs'],
    ['unknown option', { entityType: 'order', onSpawnWorker: () => undefined, maxWorkers: 2 }, 'registration.maxWorkers'],
  ];
  it.each(cases)('registerEntityType rejects %s', (_name, input, argument) => {
    let err: unknown;
    try {
      cron.registerEntityType(input as EntityTypeRegistration);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AtomicQueuesValidationError);
    expect((err as AtomicQueuesValidationError).argument).toBe(argument);
    expect(cron.getRegisteredEntityTypes()).toEqual([]);
  });

  it('lists the accepted options for an unknown one', () => {
    expect(() => cron.registerEntityType({ entityType: 'x', onSpawnWorker: () => undefined, nope: 1 } as EntityTypeRegistration)).toThrow(
      /accepted: entityType, getDesiredWorkerCount, getActiveEntityIds, maxWorkersPerEntity, onSpawnWorker, onTerminateWorker, spawnClaimMs/,
    );
  });

  it('refuses a second registration of a type and unregistering an unknown one', () => {
    cron.registerEntityType({ entityType: 'order', onSpawnWorker: () => undefined });
    expect(() => cron.registerEntityType({ entityType: 'order', onSpawnWorker: () => undefined })).toThrow(/entityType: is already registered/);
    expect(() => cron.unregisterEntityType('user')).toThrow(/entityType: is not registered \(registered: order\)/);
    cron.unregisterEntityType('order');
    expect(cron.getRegisteredEntityTypes()).toEqual([]);
    cron.registerEntityType({ entityType: 'order', onSpawnWorker: () => undefined });
    expect(cron.getRegisteredEntityTypes()).toEqual(['order']);
  });

  it('start rejects a non-positive interval', () => {
    expect(() => cron.start(0)).toThrow(/Invalid intervalMs: must be an integer in \[1, /);
    expect(cron.isRunning).toBe(false);
  });
});
