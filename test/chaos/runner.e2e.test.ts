import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getProfile, type Profile } from '../../chaos/profile.js';
import { runScenario, type ChaosSession } from '../../chaos/runner.js';
import { getScenario, pastTtl } from '../../chaos/scenarios.js';
import { defaultToxiproxyBinary, startToxiproxy, type ToxiproxyServer } from '../../chaos/toxiproxy/server.js';

// End to end through the real Toxiproxy, a private redis-server and 3 compiled node processes (`npm run build`
// first): the latency scenario of the CI profile with a little less load, checked by the shared checkers, and the
// self-test proving those checks fire on an unsafe configuration.
const binary = defaultToxiproxyBinary();

describe.skipIf(!existsSync(binary))('chaos runner end to end: latency scenario and self-test', () => {
  let toxiproxy: ToxiproxyServer;
  const profile: Profile = { ...getProfile('ci'), entities: 12, jobsPerSecond: 40, warmupMs: 1500, afterHealMs: 1500 };

  beforeAll(async () => {
    toxiproxy = await startToxiproxy();
  });
  afterAll(async () => {
    await toxiproxy?.stop();
  });

  it('keeps every guarantee while one node link is slower than the heartbeat TTL, and recovers after the heal', async () => {
    const logs: string[] = [];
    const session: ChaosSession = { toxiproxy, profile, nodes: 3, log: (m) => logs.push(m) };
    const scenario = getScenario('latency');
    const result = await runScenario(session, { name: 'latency', title: scenario.title, scenario });
    const context = `${JSON.stringify({ ...result, timeline: undefined }, null, 2)}\n${logs.join('\n')}`;

    expect(result.error, context).toBeUndefined();
    expect(result.verdict, context).toBe('PASS');
    expect(result.jobs).toBeGreaterThan(profile.entities * 2);
    expect(result.completed).toBe(result.jobs);
    expect([result.lost, result.unexpected, result.fifoViolations, result.overlaps]).toEqual([0, 0, 0, 0]);
    expect(result.duplicates).toBe(result.duplicatesAllowed);
    expect(result.drained).toBe(true);
    // The fault really was held past the heartbeat TTL on node-2's link, under load, and then healed.
    expect(result.target).toBe('node-2');
    expect(result.fault!.healedAt - result.fault!.injectedAt).toBeGreaterThanOrEqual(pastTtl(profile));
    expect(result.fault!.details).toContain('latency/downstream');
    expect(result.recoveryMs).not.toBeNull();
    const completions = result.timeline.buckets.reduce((n, b) => n + b.completed, 0);
    expect(completions).toBe(result.executions - result.rejectedWrites - result.timeline.buckets.reduce((n, b) => n + b.failed + b.crashed, 0));
    // The sampler saw every node through its connection names; the engine's budget is 5 per node.
    expect(result.connections!.samples).toBeGreaterThan(0);
    expect(Object.keys(result.connections!.peakPerNode).sort()).toEqual(['node-1', 'node-2', 'node-3']);
    for (const peak of Object.values(result.connections!.peakPerNode)) expect(peak).toBeLessThanOrEqual(5);
    expect(result.connections!.peakEntityWorkers).toBeGreaterThan(0);
    expect(result.perNode!.reduce((n, x) => n + x.jobs, 0)).toBe(completions);
  }, 120_000);

  it('self-test: the same runner reports violations for per-entity concurrency 2 without fencing', async () => {
    const session: ChaosSession = { toxiproxy, profile, nodes: 3, log: () => undefined };
    const result = await runScenario(session, { name: 'self-test:concurrency-2', title: 'unsafe', unsafe: 'concurrency-2' });
    expect(result.error).toBeUndefined();
    expect(result.expectViolations).toBe(true);
    expect(result.fifoViolations + result.overlaps, JSON.stringify(result.samples)).toBeGreaterThan(0);
    expect(result.verdict).toBe('PASS');
    expect(result.reasons[0]).toMatch(/^unsafe configuration detected: /);
  }, 120_000);
});
