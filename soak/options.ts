import { parseArgs } from 'node:util';

/** Command line of `npm run soak` (soak/soak.ts). */
export interface SoakOptions {
  /** Length of the load phase (producers adding jobs). */
  minutes: number;
  entities: number;
  nodes: number;
  /** Adds per second over all producers (a multiple of `producers`: each one adds rate / producers per second). */
  rate: number;
  /** Producer processes; the entities are split between them. */
  producers: number;
  sampleEveryS: number;
  /** Samples before this are warm-up: not judged for flatness (default: see defaultWarmupMinutes). */
  warmupMinutes: number;
  /** A series is flat when its fitted growth over the judged window is at most this many percent. */
  maxGrowthPct: number;
  jobMs: number;
  cronIntervalMs: number;
  drainTimeoutS: number;
  /** redis-server `maxclients`; undefined = the server default (10,000). */
  maxClients?: number;
  outDir: string;
}

export const SOAK_USAGE = `usage: npm run soak -- [--minutes N] [--entities N] [--nodes N] [--rate N/s] [--producers N]
       [--sample-every S] [--warmup-minutes M] [--max-growth PCT] [--job-ms MS] [--cron-interval MS]
       [--drain-timeout S] [--maxclients N] [--out DIR]`;

const FLAGS = [
  'minutes', 'entities', 'nodes', 'rate', 'producers', 'sample-every', 'warmup-minutes', 'max-growth', 'job-ms',
  'cron-interval', 'drain-timeout', 'maxclients', 'out',
] as const;

function num(flag: string, raw: string | undefined, fallback: number, rule: { integer?: boolean; min: number; max?: number; minExclusive?: boolean }): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const ok =
    raw.trim() !== '' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.minExclusive ? value > rule.min : value >= rule.min) &&
    (rule.max === undefined || value <= rule.max);
  if (!ok) {
    const kind = rule.integer ? 'an integer' : 'a number';
    const range = `${rule.minExclusive ? '>' : '>='} ${rule.min}${rule.max === undefined ? '' : ` and <= ${rule.max}`}`;
    throw new Error(`--${flag} "${raw}" is invalid; accepted values: ${kind} ${range}\n${SOAK_USAGE}`);
  }
  return value;
}

export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  let v: Record<string, string | undefined>;
  try {
    v = parseArgs({ args: [...argv], options: Object.fromEntries(FLAGS.map((k) => [k, { type: 'string' as const }])) }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${SOAK_USAGE}`);
  }
  const minutes = num('minutes', v.minutes, 30, { min: 0, minExclusive: true });
  const entities = num('entities', v.entities, 10_000, { integer: true, min: 1 });
  const producers = num('producers', v.producers, 1, { integer: true, min: 1, max: 16 });
  if (producers > entities) throw new Error(`--producers (${producers}) must not exceed --entities (${entities})\n${SOAK_USAGE}`);
  // 600/s: at 10,000 entities every entity's event stream reaches its cap in ~13 min, leaving the rest of a
  // 30-min run to judge Redis memory (at 100/s the streams are still filling when the run ends).
  const rate = num('rate', v.rate, 600, { integer: true, min: 1 });
  if (rate % producers !== 0) throw new Error(`--rate (${rate}/s) must be a multiple of --producers (${producers}): each producer adds rate / producers per second\n${SOAK_USAGE}`);
  const pass = passMinutes(entities, rate);
  const warmupMinutes = num('warmup-minutes', v['warmup-minutes'], defaultWarmupMinutes(minutes, pass), { min: 0 });
  if (warmupMinutes >= minutes) {
    throw new Error(
      `--warmup-minutes (${round2(warmupMinutes)}) must be shorter than --minutes (${minutes}); by default the warm-up covers 1.5 passes over ` +
        `the entities (one pass = ${round2(pass)} min at ${rate}/s): run longer, raise --rate or lower --entities\n${SOAK_USAGE}`,
    );
  }
  const options: SoakOptions = {
    minutes,
    entities,
    nodes: num('nodes', v.nodes, 3, { integer: true, min: 1, max: 16 }),
    rate,
    producers,
    sampleEveryS: num('sample-every', v['sample-every'], 10, { min: 0.5 }),
    warmupMinutes,
    maxGrowthPct: num('max-growth', v['max-growth'], 10, { min: 0 }),
    jobMs: num('job-ms', v['job-ms'], 10, { integer: true, min: 0 }),
    cronIntervalMs: num('cron-interval', v['cron-interval'], 500, { integer: true, min: 1 }),
    drainTimeoutS: num('drain-timeout', v['drain-timeout'], 300, { min: 1 }),
    outDir: v.out ?? 'soak/results',
  };
  if (v.maxclients !== undefined) options.maxClients = num('maxclients', v.maxclients, 10_000, { integer: true, min: 1 });
  return options;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Minutes the producers need to give every entity one job (they go round-robin over the entities). */
export const passMinutes = (entities: number, rate: number): number => entities / rate / 60;

/**
 * Default warm-up: a quarter of the run, at most 5 minutes, but never less than 1.5 passes over the entities:
 * until every entity had a job, Redis keys and memory grow with the per-entity state (queue keys) being created.
 */
export const defaultWarmupMinutes = (minutes: number, pass: number): number => Math.max(Math.min(5, minutes / 4), 1.5 * pass);
