import { parseArgs } from 'node:util';
import { PROFILES, resolveProfile, type LoadProfile } from './scenarios.js';

/** Command line of `npm run load` (load/driver.ts). */
export interface DriverOptions extends LoadProfile {
  profile: string;
  outDir: string;
  /** How long to wait after the last enqueue for every acknowledged job to complete. */
  drainTimeoutS: number;
  cronIntervalMs: number;
}

export const DRIVER_USAGE = `usage: npm run load -- [--profile ${Object.keys(PROFILES).join('|')}] [--entities N] [--rate N/s] [--duration S]
       [--nodes N] [--hot-vus N] [--hot-iterations N] [--out DIR] [--drain-timeout S] [--cron-interval MS]`;

function positiveInt(flag: string, raw: string | undefined, fallback: number, unit = ''): number {
  if (raw === undefined) return fallback;
  const trimmed = unit ? raw.replace(new RegExp(`${unit}$`), '') : raw;
  const value = Number(trimmed);
  if (trimmed === '' || !Number.isInteger(value) || value < 1) {
    throw new Error(`--${flag} must be a positive integer${unit ? ` (optionally suffixed "${unit}")` : ''}, got "${raw}"\n${DRIVER_USAGE}`);
  }
  return value;
}

export function parseDriverArgs(argv: readonly string[]): DriverOptions {
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        ['profile', 'entities', 'rate', 'duration', 'nodes', 'hot-vus', 'hot-iterations', 'out', 'drain-timeout', 'cron-interval'].map((k) => [k, { type: 'string' as const }]),
      ),
    }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${DRIVER_USAGE}`);
  }
  const profile = values.profile ?? 'smoke';
  const base = resolveProfile(profile);
  const nodes = positiveInt('nodes', values.nodes, base.nodes);
  if (nodes > 16) throw new Error(`--nodes must be at most 16 on one machine, got ${nodes}`);
  return {
    ...base,
    profile,
    entities: positiveInt('entities', values.entities, base.entities),
    rate: positiveInt('rate', values.rate, base.rate),
    durationS: positiveInt('duration', values.duration, base.durationS, 's'),
    nodes,
    hotVus: positiveInt('hot-vus', values['hot-vus'], base.hotVus),
    hotIterations: positiveInt('hot-iterations', values['hot-iterations'], base.hotIterations),
    outDir: values.out ?? 'load/results',
    drainTimeoutS: positiveInt('drain-timeout', values['drain-timeout'], 60, 's'),
    cronIntervalMs: positiveInt('cron-interval', values['cron-interval'], 100),
  };
}

/**
 * Serial producers for the constant-rate phase: about one per 10 requests/s (each sends one request at a time),
 * at least one per node, never more than there are entities or requests per second, at most 64.
 */
export function producerCount(options: Pick<LoadProfile, 'rate' | 'nodes' | 'entities'>): number {
  return Math.max(1, Math.min(options.entities, options.rate, 64, Math.max(options.nodes, Math.ceil(options.rate / 10))));
}

/** Splits `total` into `parts` integers differing by at most one (first parts get the remainder). */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}
