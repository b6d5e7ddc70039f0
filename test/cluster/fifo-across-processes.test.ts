import { describe, expect, it } from 'vitest';
import { runProducers } from '../../toolkit/cluster/cluster-run.js';
import { collectRun, waitForDrain } from '../../toolkit/cluster/run-dir.js';
import { FAST, scenario, startTestCluster } from './support.js';

describe('multi-process: 3 producers, 3 nodes', () => {
  it('50 entities x 20 jobs: per-entity FIFO, no overlap, nothing lost', async () => {
    const { run, redisUrl, keyPrefix } = scenario('fifo-3x3');
    const cluster = await startTestCluster({ run, redisUrl, nodes: 3, settings: { ...FAST, keyPrefix } });

    await runProducers({ run, redisUrl, producers: 3, entities: 50, jobsPerEntity: 20, settings: { keyPrefix } });
    await waitForDrain(run, { timeoutMs: 30_000, expectJobs: 1000 });
    const exits = await cluster.stopAll();
    expect(exits.every((e) => e.code === 0 || e.signal === 'SIGTERM')).toBe(true);

    const result = collectRun(run);
    expect(result.ok, result.report).toBe(true);
    expect(result.enqueued).toHaveLength(1000);
    expect(new Set(result.enqueued.map((j) => j.entityId)).size).toBe(50);
    expect(result.check.noLost.stats.completed).toBe(1000);
    expect(result.check.singleWorker.stats.maxConcurrency).toBe(1);
    // Jobs of different entities did run in parallel (per-entity sequential, not globally sequential).
    const sorted = [...result.history].sort((a, b) => a.start - b.start);
    const parallel = sorted.some((e, i) => i > 0 && sorted[i - 1]!.end! > e.start && sorted[i - 1]!.entityId !== e.entityId);
    expect(parallel).toBe(true);
    console.info(`[fifo-3x3] ${result.summary}; jobs per node: ${JSON.stringify(countBy(result.history.map((e) => e.node ?? '?')))}`);
  }, 90_000);
});

function countBy(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
