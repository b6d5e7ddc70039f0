/** Configuration of the example app, read from the environment. Bad values fail fast naming the variable. */
export interface AppConfig {
  /** Redis of the cluster. Unset: the app runs embedded, on the in-memory backend (one process, nothing persisted). */
  redisUrl?: string;
  port: number;
  nodeId: string;
  /** Prefix of every Redis key (module and app). */
  keyPrefix: string;
  /** When set, every job execution is appended to this JSONL file (load verification). */
  historyFile?: string;
  /** When set, every acknowledged enqueue is appended to this JSONL file (verification of k6 / external producers). */
  enqueueFile?: string;
  /** Cron tick of the module: how fast a node notices an entity with pending jobs. */
  cronIntervalMs: number;
  /** Simulated work per order step. */
  stepDelayMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}="${raw}" is invalid; accepted values: an integer >= ${min}`);
  return value;
}

export function loadAppConfig(env: Env = process.env): AppConfig {
  const redisUrl = env.REDIS_URL || undefined;
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) throw new Error(`REDIS_URL="${redisUrl}" is invalid; accepted values: redis://… or rediss://… URLs`);
  const keyPrefix = env.AQ_KEY_PREFIX || 'aq-example';
  if (/[:\s]/.test(keyPrefix)) throw new Error(`AQ_KEY_PREFIX="${keyPrefix}" is invalid; accepted values: no ':' and no whitespace`);
  return {
    redisUrl,
    port: int(env, 'PORT', 3000, 0),
    nodeId: env.NODE_ID || `node-${process.pid}`,
    keyPrefix,
    historyFile: env.AQ_HISTORY_FILE || undefined,
    enqueueFile: env.AQ_ENQUEUE_FILE || undefined,
    cronIntervalMs: int(env, 'AQ_CRON_INTERVAL_MS', 250, 10),
    stepDelayMs: int(env, 'AQ_STEP_DELAY_MS', 20, 0),
  };
}

export const APP_CONFIG = Symbol('order-processing:config');
/** The app's settings in @nestjs/config: `configService.getOrThrow<AppConfig>(APP_CONFIG_NAMESPACE)`. */
export const APP_CONFIG_NAMESPACE = 'app';
