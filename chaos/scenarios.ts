import type { NodeHandle } from '../toolkit/cluster/launcher.js';
import type { RedisServerHandle } from '@nestjs/atomic-queues/testing';
import type { Profile } from './profile.js';
import { applyToxics, type NodeLink } from './toxiproxy/proxies.js';
import {
  bandwidthToxic,
  blackHoleToxic,
  latencyToxic,
  resetPeerToxic,
  slicerToxic,
  type ToxicBody,
} from './toxiproxy/toxics.js';

/**
 * The fault scenarios. Each injects one fault under load, holds it for its window, heals, and returns the
 * fault window (wall-clock ms) so the report can relate throughput, errors and recovery to it.
 */
export type ScenarioName =
  | 'latency'
  | 'reset-peer'
  | 'partition'
  | 'redis-restart'
  | 'node-kill'
  | 'node-pause'
  | 'bandwidth'
  | 'slicer'
  | 'node-term'
  | 'many-entities';

export interface FaultContext {
  readonly profile: Profile;
  /** The faulted node (scenarios hitting one node) and its Toxiproxy link. */
  readonly target: NodeHandle;
  readonly link: NodeLink;
  readonly redis: RedisServerHandle;
  /** Resolves once the node has a job in flight (or after timeoutMs); true when one was seen. */
  waitForJobInFlight(nodeId: string, timeoutMs: number): Promise<boolean>;
  sleep(ms: number): Promise<void>;
}

export interface FaultWindow {
  injectedAt: number;
  healedAt: number;
  /** Human-readable description of what was done, for the report. */
  details: string;
}

/** Load settings a scenario may change from its profile (the fault timings stay the profile's). */
export type ScenarioLoad = Partial<Pick<Profile, 'entities' | 'jobsPerSecond' | 'warmupMs' | 'afterHealMs' | 'drainTimeoutMs' | 'cronIntervalMs'>>;

export interface Scenario {
  readonly name: ScenarioName;
  readonly title: string;
  /** What happens to the cluster; the runner reports `target` only when `targetsNode`. */
  readonly targetsNode: boolean;
  /** Another load than the profile's (more entities, a higher rate); the profile's when absent. */
  load?(profile: Profile): ScenarioLoad;
  /**
   * Extra pass criterion: the most Redis connections any node may hold at once (sampled `CLIENT LIST`, the
   * module's `aq:<node>:<kind>` names). The engine's budget is 5 per node whatever the number of entities.
   */
  readonly maxConnectionsPerNode?: number;
  /** Planned fault window (the load is sized to cover warmup + window + after-heal). */
  windowMs(profile: Profile): number;
  run(ctx: FaultContext): Promise<FaultWindow>;
}

/** The profile a scenario runs with: the profile, with the scenario's load settings on top. */
export function scenarioProfile(profile: Profile, scenario?: Scenario): Profile {
  return scenario?.load ? { ...profile, ...scenario.load(profile) } : profile;
}

/** Fault windows that must outlast the heartbeat TTL use this (TTL × 2 + 500 ms). */
export const pastTtl = (p: Profile): number => p.heartbeatTtlMs * 2 + 500;

function toxicScenario(
  name: ScenarioName,
  title: string,
  toxics: (p: Profile) => ToxicBody[],
  windowMs: (p: Profile) => number,
): Scenario {
  return {
    name,
    title,
    targetsNode: true,
    windowMs,
    async run(ctx) {
      const bodies = toxics(ctx.profile);
      const heldMs = windowMs(ctx.profile);
      const injectedAt = Date.now();
      const heal = await applyToxics(ctx.link, bodies);
      await ctx.sleep(heldMs);
      await heal();
      const summary = bodies.map((b) => `${b.type}/${b.stream} ${JSON.stringify(b.attributes)}`).join(', ');
      return { injectedAt, healedAt: Date.now(), details: `${summary} on ${ctx.link.proxyName} for ${heldMs} ms` };
    },
  };
}

/** SIGKILL of the target mid-job (or after 5 s), restarted after pastTtl. */
const killTarget = (ctx: FaultContext): Promise<FaultWindow> =>
  holdNodeDown(
    ctx,
    async () => {
      ctx.target.kill('SIGKILL');
      await ctx.target.waitExit(5000);
    },
    () => ctx.target.restart(),
    (when, ms) => `SIGKILL ${ctx.target.id} (${when}), restarted after ${ms} ms`,
  );

/**
 * Takes the target down (`down`) as soon as one of its jobs is in flight (or after 5 s), holds it for pastTtl, then
 * brings it back (`up`). `details` gets 'mid-job' / 'no job seen in flight' and the hold time.
 */
async function holdNodeDown(
  ctx: FaultContext,
  down: () => unknown,
  up: () => unknown,
  details: (when: string, heldMs: number) => string,
): Promise<FaultWindow> {
  const midJob = await ctx.waitForJobInFlight(ctx.target.id, 5000);
  const injectedAt = Date.now();
  await down();
  const heldMs = pastTtl(ctx.profile);
  await ctx.sleep(heldMs);
  await up();
  return { injectedAt, healedAt: Date.now(), details: details(midJob ? 'mid-job' : 'no job seen in flight', heldMs) };
}

/** Entities and producer rate (jobs/s) of the many-entities scenario, whatever the profile. */
export const MANY_ENTITIES = 1200;
export const MANY_ENTITIES_RATE = 400;

export const SCENARIOS: readonly Scenario[] = [
  toxicScenario(
    'latency',
    'latency toxic on one node link, longer than heartbeatTTL, then removed',
    (p) => latencyToxic(p.heartbeatTtlMs + 500, 100),
    pastTtl,
  ),
  toxicScenario('reset-peer', 'reset_peer (TCP RST) on one node link', () => resetPeerToxic(200), (p) => p.heartbeatTtlMs + 1000),
  toxicScenario('partition', 'black-hole partition of one node (timeout toxic 0), then healed', () => blackHoleToxic(), pastTtl),
  {
    name: 'redis-restart',
    title: 'Redis SIGKILL and restart (AOF appendfsync always: no data loss allowed)',
    targetsNode: false,
    windowMs: () => 1000,
    async run(ctx) {
      const injectedAt = Date.now();
      await ctx.redis.kill();
      await ctx.sleep(1000);
      await ctx.redis.restart();
      return { injectedAt, healedAt: Date.now(), details: `redis-server pid SIGKILL, down 1000 ms, restarted with its AOF` };
    },
  },
  {
    name: 'node-kill',
    title: 'node process SIGKILL mid-job, restarted after heartbeatTTL',
    targetsNode: true,
    windowMs: pastTtl,
    run: killTarget,
  },
  {
    name: 'node-pause',
    title: 'node SIGSTOP longer than heartbeatTTL, then SIGCONT (paused lock holder)',
    targetsNode: true,
    windowMs: pastTtl,
    run: (ctx) =>
      holdNodeDown(
        ctx,
        () => ctx.target.kill('SIGSTOP'),
        () => ctx.target.kill('SIGCONT'),
        (when, ms) => `SIGSTOP ${ctx.target.id} (${when}) for ${ms} ms, then SIGCONT`,
      ),
  },
  toxicScenario('bandwidth', 'bandwidth limit on one node link', () => bandwidthToxic(4), (p) => p.heartbeatTtlMs + 1500),
  toxicScenario('slicer', 'slicer on one node link', () => slicerToxic(16, 8, 500), (p) => p.heartbeatTtlMs + 1500),
  {
    name: 'node-term',
    title: 'SIGTERM of one node under load (graceful shutdown), restarted',
    targetsNode: true,
    windowMs: () => 3000,
    async run(ctx) {
      const injectedAt = Date.now();
      ctx.target.kill('SIGTERM');
      const exit = await ctx.target.waitExit(ctx.profile.drainTimeoutMs);
      const stoppedAt = Date.now();
      await ctx.sleep(1000);
      await ctx.target.restart();
      return {
        injectedAt,
        healedAt: Date.now(),
        details: `SIGTERM ${ctx.target.id}: exited with code ${exit.code} after ${stoppedAt - injectedAt} ms, restarted`,
      };
    },
  },
  {
    // The entity engine at scale: every entity is served by a worker on the node's shared connections, taken from
    // the ready set by whichever node has room, released after `engine.idleReleaseMs` without work (each entity
    // gets a job every entities / rate seconds, so workers are released and entities re-taken, often by another
    // node, all through the run). The SIGKILLed node holds hundreds of entities: their leases are reaped and the
    // other nodes take them over; the restarted node takes its share again. The cron is off: the engine alone
    // (ready set, dispatcher, idle release, lease reaper) must serve every entity, with no safety net behind it.
    name: 'many-entities',
    title: '1,200 entities under sustained load on 3 nodes (engine only, no cron), one node SIGKILLed mid-job, restarted after heartbeatTTL',
    targetsNode: true,
    load: (p) => ({
      entities: MANY_ENTITIES,
      jobsPerSecond: MANY_ENTITIES_RATE,
      // the load goes on after the killed node is back (a node takes seconds to boot on a busy machine)
      afterHealMs: Math.max(p.afterHealMs, 6000),
      drainTimeoutMs: Math.max(p.drainTimeoutMs, 30_000),
      cronIntervalMs: 0,
    }),
    maxConnectionsPerNode: 6,
    windowMs: pastTtl,
    run: killTarget,
  },
];

export const SCENARIO_NAMES: readonly ScenarioName[] = SCENARIOS.map((s) => s.name);

export function getScenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`--scenario "${name}" is unknown; accepted values: ${SCENARIO_NAMES.join(', ')}`);
  return found;
}
