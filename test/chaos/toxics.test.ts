import { describe, expect, it } from 'vitest';
import {
  bandwidthToxic,
  blackHoleToxic,
  latencyToxic,
  resetPeerToxic,
  slicerToxic,
} from '../../chaos/toxiproxy/toxics.js';
import { SCENARIOS, SCENARIO_NAMES, getScenario, pastTtl, scenarioProfile } from '../../chaos/scenarios.js';
import { getProfile } from '../../chaos/profile.js';

describe('toxic definitions', () => {
  it('latency hits both streams with the given latency and jitter', () => {
    expect(latencyToxic(2500, 100)).toEqual([
      { name: 'chaos_latency_upstream', type: 'latency', stream: 'upstream', toxicity: 1, attributes: { latency: 2500, jitter: 100 } },
      { name: 'chaos_latency_downstream', type: 'latency', stream: 'downstream', toxicity: 1, attributes: { latency: 2500, jitter: 100 } },
    ]);
  });

  it('black hole is the timeout toxic with timeout 0 (never closes, drops data)', () => {
    const toxics = blackHoleToxic();
    expect(toxics.map((t) => [t.type, t.stream, t.attributes])).toEqual([
      ['timeout', 'upstream', { timeout: 0 }],
      ['timeout', 'downstream', { timeout: 0 }],
    ]);
  });

  it('reset_peer is built from its type string, on the upstream by default', () => {
    expect(resetPeerToxic(200)).toEqual([
      { name: 'chaos_reset_peer_upstream', type: 'reset_peer', stream: 'upstream', toxicity: 1, attributes: { timeout: 200 } },
    ]);
  });

  it('bandwidth and slicer carry the toxiproxy attribute names (slicer delay in microseconds)', () => {
    expect(bandwidthToxic(4, ['downstream'])[0]!.attributes).toEqual({ rate: 4 });
    expect(slicerToxic(16, 8, 500)[0]!.attributes).toEqual({ average_size: 16, size_variation: 8, delay: 500 });
  });

  it('rejects bad attributes with the field, the value and the accepted values', () => {
    expect(() => latencyToxic(0)).toThrow('latency toxic: latency=0 is invalid; accepted values: an integer >= 1');
    expect(() => latencyToxic(100, 200)).toThrow('jitter=200 must not exceed latency=100');
    expect(() => resetPeerToxic(-1)).toThrow('reset_peer toxic: timeout=-1 is invalid');
    expect(() => bandwidthToxic(1.5)).toThrow('bandwidth toxic: rate=1.5 is invalid; accepted values: an integer >= 1');
    expect(() => slicerToxic(8, 8, 0)).toThrow('size_variation=8 must be smaller than average_size=8');
    expect(() => blackHoleToxic(['sideways' as never])).toThrow('stream="sideways" is invalid; accepted values: upstream, downstream');
    expect(() => blackHoleToxic([])).toThrow('streams must not be empty');
  });
});

describe('scenario catalog', () => {
  it('has the nine fault scenarios of the issue and the many-entities one, uniquely named', () => {
    expect(SCENARIO_NAMES).toEqual([
      'latency', 'reset-peer', 'partition', 'redis-restart', 'node-kill', 'node-pause', 'bandwidth', 'slicer', 'node-term', 'many-entities',
    ]);
    expect(new Set(SCENARIO_NAMES).size).toBe(SCENARIOS.length);
  });

  it('holds TTL-sensitive faults longer than the heartbeat TTL in every profile', () => {
    for (const name of ['ci', 'full']) {
      const p = getProfile(name);
      expect(pastTtl(p)).toBeGreaterThan(p.heartbeatTtlMs);
    }
  });

  it('runs many-entities with 1,000+ entities and a connection budget, other scenarios with the profile load', () => {
    for (const name of ['ci', 'full']) {
      const p = getProfile(name);
      const many = scenarioProfile(p, getScenario('many-entities'));
      expect(many.entities).toBeGreaterThanOrEqual(1000);
      expect(many.heartbeatTtlMs).toBe(p.heartbeatTtlMs);
      expect(getScenario('many-entities').maxConnectionsPerNode).toBeLessThanOrEqual(6);
      expect(scenarioProfile(p, getScenario('partition'))).toBe(p);
    }
  });

  it('names the accepted values for an unknown scenario', () => {
    expect(getScenario('partition').name).toBe('partition');
    expect(() => getScenario('meteor')).toThrow(/--scenario "meteor" is unknown; accepted values: latency, reset-peer, .*node-term/);
    expect(() => getProfile('huge')).toThrow('--profile "huge" is unknown; accepted values: ci, full');
  });
});
