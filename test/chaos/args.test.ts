import { describe, expect, it } from 'vitest';
import { parseChaosArgs } from '../../chaos/args.js';
import { SCENARIO_NAMES } from '../../chaos/scenarios.js';

describe('chaos CLI arguments', () => {
  it('runs every scenario and the self-test by default, full profile', () => {
    const args = parseChaosArgs([]);
    expect(args.scenarios).toEqual(SCENARIO_NAMES);
    expect(args.selfTests).toEqual(['concurrency-2']);
    expect(args.profile).toBe('full');
  });

  it('--scenario selects scenarios (repeatable, comma-separated, = form) and skips the self-test', () => {
    const args = parseChaosArgs(['--scenario', 'latency', '--scenario=node-kill,latency', '--profile', 'ci']);
    expect(args.scenarios).toEqual(['latency', 'node-kill']);
    expect(args.selfTests).toEqual([]);
    expect(args.profile).toBe('ci');
  });

  it('--self-test and --no-self-test override the default', () => {
    expect(parseChaosArgs(['--scenario', 'latency', '--self-test', 'concurrency-2']).selfTests).toEqual(['concurrency-2']);
    expect(parseChaosArgs(['--no-self-test']).selfTests).toEqual([]);
  });

  it('rejects bad input naming the value and the accepted values', () => {
    expect(() => parseChaosArgs(['--scenario', 'flood'])).toThrow('--scenario "flood" is unknown; accepted values: latency,');
    expect(() => parseChaosArgs(['--profile', 'x'])).toThrow('--profile "x" is unknown; accepted values: ci, full');
    expect(() => parseChaosArgs(['--nodes', '2'])).toThrow('--nodes "2" is invalid; accepted values: an integer >= 3');
    expect(() => parseChaosArgs(['--self-test', 'yolo'])).toThrow('--self-test "yolo" is unknown; accepted values: concurrency-2');
    expect(() => parseChaosArgs(['--scenario'])).toThrow('--scenario needs a value');
    expect(() => parseChaosArgs(['--bogus'])).toThrow('unknown argument "--bogus"');
  });
});
