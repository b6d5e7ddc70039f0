import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { runProducers } from '../../toolkit/cluster/cluster-run.js';
import { collectRun, entityExecutions, waitForDrain } from '../../toolkit/cluster/run-dir.js';
import { effectKey } from '../../toolkit/cluster/settings.js';
import { FAST, scenario, startTestCluster, unlessFails, until } from './support.js';

describe('multi-process: node failures', () => {
  it('SIGKILL mid-job: another node takes over after the heartbeat TTL and re-runs the job before later ones', async () => {
    const { run, redisUrl, keyPrefix } = scenario('sigkill-takeover');
    const settings = { ...FAST, keyPrefix, logJobs: true, jobRules: [{ entityId: 'e-3', seq: 4, delayMs: 1500 }] };
    const cluster = await startTestCluster({ run, redisUrl, nodes: 3, settings });

    const producing = runProducers({ run, redisUrl, producers: 1, entities: 8, jobsPerEntity: 10, settings: { keyPrefix } });
    producing.catch(() => undefined); // awaited below; keeps an early failure from being unhandled meanwhile
    const { node: victim } = await unlessFails(cluster.waitForAnyLine(/^AQ_JOB start e-3 4 1 /, 30_000), producing);
    victim.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await victim.waitExit()).toEqual({ code: null, signal: 'SIGKILL' });
    await producing;
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 80 });
    await cluster.stopAll();

    const result = collectRun(run, { singleWorker: { crashedEnd: (e) => (e.node === victim.id ? killedAt : undefined) } });
    expect(result.ok, result.report).toBe(true);
    const e3 = entityExecutions(result.history, 'e-3');
    const interrupted = e3.filter((e) => e.seq === 4);
    expect([interrupted[0]!.node, interrupted[0]!.outcome]).toEqual([victim.id, 'crashed']);
    const rerun = interrupted.find((e) => e.outcome === 'completed')!;
    expect(rerun.node).not.toBe(victim.id);
    // The new owner could only start once the dead node's heartbeat had expired (TTL minus one refresh period).
    expect(rerun.start - killedAt).toBeGreaterThanOrEqual(FAST.heartbeatTtlMs! - FAST.heartbeatIntervalMs!);
    expect(rerun.start - killedAt).toBeLessThan(15_000);
    // At-least-once: the interrupted job ran again before every later job of the entity.
    const later = e3.filter((e) => (e.seq ?? -1) > 4);
    expect(later).toHaveLength(5);
    for (const e of later) expect(e.start).toBeGreaterThanOrEqual(rerun.end!);
    expect(result.check.stats.crashed).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('SIGSTOP past the TTLs: another node takes over and the paused holder’s late effect is rejected by fencing', async () => {
    const { run, redisUrl, keyPrefix } = scenario('sigstop-fencing');
    // One entity: the victim's only in-flight job at the pause is the slow e-0#2.
    const settings = {
      ...FAST, keyPrefix, logJobs: true, fencing: true, jobRules: [{ entityId: 'e-0', seq: 2, delayMs: 1500 }],
    };
    const cluster = await startTestCluster({ run, redisUrl, nodes: 2, settings });

    const producing = runProducers({ run, redisUrl, producers: 1, entities: 1, jobsPerEntity: 6, settings: { keyPrefix } });
    producing.catch(() => undefined);
    const { node: victim } = await unlessFails(cluster.waitForAnyLine(/^AQ_JOB start e-0 2 1 /, 30_000), producing);
    victim.kill('SIGSTOP');
    const other = cluster.nodes.find((n) => n !== victim)!;
    // Resume the victim only once a worker started after the pause holds a newer fencing token: the victim's write
    // is now stale. (Lines printed before the pause do not count: `other` may have served e-0 earlier.)
    const seen = other.linesSoFar().length;
    await until('the other node took a new lease', () => other.linesSoFar().slice(seen).some((l) => l.startsWith('AQ_LEASE order-e-0-worker ')), 30_000);
    victim.kill('SIGCONT');
    await producing;
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 6 });
    await victim.waitForLine(/^AQ_JOB end e-0 2 /, 10_000);
    await cluster.stopAll();

    const result = collectRun(run, { singleWorker: { onlyApplied: true } });
    expect(result.ok, result.report).toBe(true);
    const job = entityExecutions(result.history, 'e-0').filter((e) => e.seq === 2);
    const stale = job.find((e) => e.node === victim.id)!;
    const winner = job.find((e) => e.node === other.id && e.outcome === 'completed')!;
    // The victim's write came after the takeover (a rejection needs a newer token), and its attempt did not complete
    // the job: it was given back (or already recovered as stalled) and the new owner applied it.
    expect([stale.applied, stale.outcome]).toEqual([false, 'failed']);
    expect(winner.applied).toBe(true);
    expect(winner.fencingToken!).toBeGreaterThan(stale.fencingToken!);
    // The sink itself holds e-0#2 exactly once, written by the new owner with its token.
    const redis = new Redis(redisUrl);
    try {
      const effects = await redis.lrange(effectKey(keyPrefix, 'order', 'e-0'), 0, -1);
      expect(effects.filter((e) => e.startsWith('2|'))).toEqual([`2|e-0.2|${winner.attempt}|${other.id}|${winner.fencingToken}`]);
      // Applied in FIFO order, every job (a late duplicate of a job would repeat its seq in place, never reorder).
      const seqs = effects.map((e) => Number(e.split('|')[0]));
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      expect([...new Set(seqs)]).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      redis.disconnect();
    }
  }, 90_000);

  it('SIGTERM under load: the node finishes its in-flight jobs, nothing is lost', async () => {
    const { run, redisUrl, keyPrefix } = scenario('sigterm-load');
    const settings = { ...FAST, keyPrefix, logJobs: true, jobMs: 20 };
    const cluster = await startTestCluster({ run, redisUrl, nodes: 3, settings });

    const producing = runProducers({
      run, redisUrl, producers: 2, entities: 20, jobsPerEntity: 15, settings: { keyPrefix, ratePerSecond: 60 },
    });
    producing.catch(() => undefined);
    // Wait until the victim is busy, then terminate it while producers keep adding.
    const { node: victim } = await unlessFails(cluster.waitForAnyLine(/^AQ_JOB start /, 30_000), producing);
    victim.kill('SIGTERM');
    const termAt = Date.now();
    const exit = await victim.waitExit(FAST.shutdownTimeoutMs! + 5_000);
    expect(exit.code === 0 || exit.signal === 'SIGTERM', JSON.stringify(exit)).toBe(true);
    await producing;
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 300 });
    await cluster.stopAll();

    const result = collectRun(run);
    expect(result.ok, result.report).toBe(true);
    expect(result.check.noLost.stats.completed).toBe(300);
    const mine = result.history.filter((e) => e.node === victim.id);
    expect(mine.length).toBeGreaterThan(0);
    // Graceful: every job the node started before it went down ended there (none cut off).
    expect(mine.filter((e) => e.outcome !== 'completed')).toEqual([]);
    // Work went on after the shutdown on the other nodes.
    expect(result.history.some((e) => e.node !== victim.id && e.start > termAt)).toBe(true);
  }, 90_000);
});
