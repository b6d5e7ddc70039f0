import { sampleConnections } from '../toolkit/sampling/redis-clients.js';

/** Helpers shared by the benchmark parts. */

export interface Throughput {
  jobs: number;
  ms: number;
  jobsPerS: number;
}

export const throughput = (jobs: number, ms: number): Throughput => ({ jobs, ms: Math.round(ms), jobsPerS: Math.round((jobs * 1000) / ms) });

/** A promise resolved by `hit()` once it has been called `target` times (or rejected after `timeoutMs`). */
let processedInThisProcess = 0;
/** Jobs counted by every countdown of this process so far (the progress line's "jobs done"). */
export const jobsProcessed = (): number => processedInThisProcess;

export function countdown(target: number, timeoutMs: number, what: string): { hit(): void; done: Promise<void>; readonly count: number } {
  let count = 0;
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`${what}: only ${count}/${target} jobs processed within ${timeoutMs} ms`)), timeoutMs);
  if (target === 0) resolve();
  done.finally(() => clearTimeout(timer)).catch(() => undefined);
  return {
    hit() {
      count += 1;
      processedInThisProcess += 1;
      if (count === target) resolve();
    },
    done,
    get count() {
      return count;
    },
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/** Redis connections this process holds right now (the admin connection used to ask is excluded). */
export async function connectionsOfThisProcess(redisUrl: string): Promise<{ total: number; byName: Record<string, number> }> {
  const { groups } = await sampleConnections(redisUrl, [{ label: 'bench', pid: process.pid }], 'aq-bench-admin');
  const mine = groups.find((g) => g.owner === 'bench');
  return { total: mine?.total ?? 0, byName: mine?.byName ?? {} };
}

type Connections = { total: number; byName: Record<string, number> };

/**
 * This process's Redis connections every 250 ms until `until` settles: the sample with the most of them, counted
 * by `measure` (default: all of them; e.g. only one client name's).
 */
export async function peakConnections(redisUrl: string, until: Promise<unknown>, measure: (c: Connections) => number = (c) => c.total): Promise<Connections> {
  const settled = until.then(() => true, () => true);
  let peak = await connectionsOfThisProcess(redisUrl);
  while (!(await Promise.race([settled, new Promise<boolean>((r) => setTimeout(() => r(false), 250))]))) {
    const now = await connectionsOfThisProcess(redisUrl);
    if (measure(now) > measure(peak)) peak = now;
  }
  return peak;
}

export function connectionOf(redisUrl: string): { host: string; port: number } {
  const u = new URL(redisUrl);
  return { host: u.hostname, port: Number(u.port || 6379) };
}

/** Value of `--flag n` in `argv`: an integer in [1, max], `fallback` when the flag is absent. */
export function intFlag(argv: readonly string[], flag: string, fallback: number, max: number): number {
  const i = argv.indexOf(flag);
  if (i < 0) return fallback;
  const raw = argv[i + 1];
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} "${raw}" is invalid; accepted values: an integer in [1, ${max}]`);
  return n;
}
