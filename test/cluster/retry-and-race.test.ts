import { describe, expect, it } from 'vitest';
import { runProducers } from '../../toolkit/cluster/cluster-run.js';
import type { NodeHandle } from '../../toolkit/cluster/launcher.js';
import { collectRun, entityExecutions, waitForDrain } from '../../toolkit/cluster/run-dir.js';
import { entityIdOf } from '../../toolkit/cluster/settings.js';
import { FAST, scenario, startTestCluster, unlessFails, until } from './support.js';

describe('multi-process: retries, worker races and the unsafe self-test', () => {
  it('a job failing twice (attempts 3) completes before later jobs, even when its node dies between attempts', async () => {
    const { run, redisUrl, keyPrefix } = scenario('retry-order');
    const settings = { ...FAST, keyPrefix, logJobs: true, jobRules: [{ entityId: 'e-2', seq: 3, failTimes: 2, delayMs: 600 }] };
    const cluster = await startTestCluster({ run, redisUrl, nodes: 2, settings });

    const producing = runProducers({
      run, redisUrl, producers: 1, entities: 4, jobsPerEntity: 8, settings: { keyPrefix, attempts: 3, backoffMs: 50 },
    });
    producing.catch(() => undefined);
    // Attempt 1 fails on the victim; kill it during attempt 2: attempt 3 must run on the other node.
    const { node: victim } = await unlessFails(cluster.waitForAnyLine(/^AQ_JOB start e-2 3 2 /, 30_000), producing);
    await victim.waitForLine(/^AQ_JOB end e-2 3 1 failed/, 1_000);
    victim.kill('SIGKILL');
    await victim.waitExit();
    await producing;
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 32 });
    await cluster.stopAll();

    const result = collectRun(run);
    expect(result.ok, result.report).toBe(true);
    const e2 = entityExecutions(result.history, 'e-2');
    const retried = e2.filter((e) => e.seq === 3);
    expect(retried.map((e) => [e.node === victim.id, e.attempt, e.outcome])).toEqual([
      [true, 1, 'failed'],
      [true, 2, 'crashed'],
      [false, 3, 'completed'],
    ]);
    const done = retried[2]!;
    const later = e2.filter((e) => (e.seq ?? -1) > 3);
    expect(later.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    for (const e of later) expect(e.start).toBeGreaterThanOrEqual(done.end!);
  }, 90_000);

  it('two nodes racing createWorker for the same names: exactly one consumer per entity', async () => {
    const { run, redisUrl, keyPrefix } = scenario('worker-race');
    const entities = Array.from({ length: 20 }, (_, i) => entityIdOf(i));
    // No cron: workers come only from the race, so nothing would replace a worker whose heartbeat lapsed while a
    // loaded machine stalled the node's event loop: a longer TTL here (takeover is not what this test is about).
    const settings = { ...FAST, keyPrefix, cronIntervalMs: 0, heartbeatTtlMs: 6000, heartbeatIntervalMs: 1000, raceEntities: entities };
    const cluster = await startTestCluster({ run, redisUrl, nodes: 2, settings });

    const at = Date.now() + 300;
    for (const node of cluster.nodes) node.send(`race ${at}`);
    const creations = (node: NodeHandle) => node.linesSoFar().filter((l) => l.startsWith('AQ_CREATE_WORKER '));
    await until('both nodes reported 20 createWorker results', () => cluster.nodes.every((n) => creations(n).length === 20), 20_000);

    const results = cluster.nodes.flatMap((node) =>
      creations(node).map((line) => {
        const [, workerName, created, owner] = /^AQ_CREATE_WORKER (\S+) created=(true|false) owner=(\S*)$/.exec(line)!;
        return { node: node.id, workerName: workerName!, created: created === 'true', owner: owner! };
      }),
    );
    const winners = new Map(results.filter((r) => r.created).map((r) => [r.workerName, r.node]));
    // Exactly one created=true per name; every loser names the winner as the live owner.
    expect(results.filter((r) => r.created)).toHaveLength(20);
    expect(winners.size).toBe(20);
    for (const loser of results.filter((r) => !r.created)) expect(loser.owner).toBe(winners.get(loser.workerName));

    await runProducers({ run, redisUrl, producers: 1, entities: 20, jobsPerEntity: 5, settings: { keyPrefix } });
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 100 });
    await cluster.stopAll();
    const result = collectRun(run);
    expect(result.ok, result.report).toBe(true);
    for (const id of entities) {
      const nodes = new Set(entityExecutions(result.history, id).map((e) => e.node));
      expect([...nodes]).toEqual([winners.get(`order-${id}-worker`)]);
    }
  }, 90_000);

  it('self-test: with worker concurrency 3 the checkers report overlaps and FIFO violations', async () => {
    const { run, redisUrl, keyPrefix } = scenario('unsafe-concurrency');
    const cluster = await startTestCluster({ run, redisUrl, nodes: 2, settings: { ...FAST, keyPrefix, workerConcurrency: 3, jobMs: 40 } });
    await runProducers({ run, redisUrl, producers: 1, entities: 3, jobsPerEntity: 12, settings: { keyPrefix } });
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 36 });
    await cluster.stopAll();

    const result = collectRun(run);
    expect(result.ok).toBe(false);
    expect(result.check.singleWorker.ok).toBe(false);
    expect(result.check.singleWorker.stats.maxConcurrency).toBeGreaterThan(1);
    expect(result.check.noLost.ok).toBe(true);
    expect(result.report).toMatch(/overlaps/);
  }, 90_000);
});
