import type { Clock, ClockTimer } from '../../src/ports/clock.js';

/** The Worker's `limiter` option as BullMQ sends it to the scripts. */
export interface LimiterOptions {
  max?: number;
  duration?: number;
}

/** What rate limits one fetch: `maxJobs` per `duration` ms, or no limit when `maxJobs` is undefined. */
export interface RateLimit {
  maxJobs: number | undefined;
  duration: number | undefined;
}

/** The `SET limiter <MAX_SAFE_INTEGER> PX <ms>` of `queue.rateLimit` / `worker.rateLimit`: over any max. */
const MANUAL_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * The queue's `limiter` key (`<prefix>:<queue>:limiter` on Redis): one counter per queue, shared by every
 * worker, with an expiry on the store's clock. Expiry is checked on each access, like Redis. When the window
 * ends, a clock timer wakes blocked workers (`onWindowEnd`): on Redis the Worker sleeps the window in real time
 * (`Worker#waitForRateLimit`); here the backend answers "no job" and `waitForJob` blocks until this timer
 * fires, so a TestClock drives every rate-limit window.
 *
 * The key outlives `obliterate`, as on Redis (obliterate.lua does not delete it).
 */
export class RateLimiterKey {
  private value: number | undefined;
  /** Absolute clock time the key expires, or undefined for a key without expiry. */
  private expiresAt: number | undefined;
  private timer: ClockTimer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly label: string,
    private readonly onWindowEnd: () => void,
  ) {}

  /** GET (0 when the key does not exist). */
  get(): number {
    this.expireIfDue();
    return this.value ?? 0;
  }

  /** PTTL: -2 when the key does not exist, -1 when it has no expiry, else the milliseconds left. */
  pttl(): number {
    this.expireIfDue();
    if (this.value === undefined) return -2;
    if (this.expiresAt === undefined) return -1;
    return this.expiresAt - this.clock.now();
  }

  /** INCR: returns the new value. */
  incr(): number {
    this.expireIfDue();
    this.value = (this.value ?? 0) + 1;
    return this.value;
  }

  /** PEXPIRE: 0 ms (or less) deletes the key, as Redis does. */
  pexpire(ms: number): void {
    this.expireIfDue();
    if (this.value === undefined) return;
    if (ms <= 0) {
      this.del();
      return;
    }
    this.expiresAt = this.clock.now() + ms;
    this.armWindowTimer();
  }

  /** DEL: 1 when the key existed. */
  del(): number {
    this.expireIfDue();
    const existed = this.value !== undefined;
    this.value = undefined;
    this.expiresAt = undefined;
    this.stop();
    return existed ? 1 : 0;
  }

  /**
   * `SET limiter MAX_SAFE_INTEGER PX ms` (Queue#rateLimit, Worker#rateLimit). Redis refuses an expire that is
   * not a positive integer; the same error text is thrown here.
   */
  setManualLimit(expireTimeMs: number): void {
    if (!Number.isInteger(expireTimeMs)) throw new Error('ERR value is not an integer or out of range');
    if (expireTimeMs <= 0) throw new Error("ERR invalid expire time in 'set' command");
    this.value = MANUAL_LIMIT;
    this.expiresAt = this.clock.now() + expireTimeMs;
    this.armWindowTimer();
  }

  /** Stops the window timer (store disposal). The key itself stays. */
  stop(): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  private expireIfDue(): void {
    if (this.value !== undefined && this.expiresAt !== undefined && this.expiresAt <= this.clock.now()) {
      this.value = undefined;
      this.expiresAt = undefined;
      this.stop();
    }
  }

  /** A ref'd timer: the end of a window is pending work (jobs held back by the limit run after it). */
  private armWindowTimer(): void {
    this.stop();
    if (this.expiresAt === undefined) return;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.expireIfDue();
        this.onWindowEnd();
      },
      Math.max(0, this.expiresAt - this.clock.now()),
      { label: `rate limit window ${this.label}` },
    );
  }
}

/** Lua's `tonumber`: numbers pass, numeric strings convert, anything else (nil, 'abc') is nil. */
function luaNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isNaN(value) ? undefined : value;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isNaN(n) ? undefined : n;
  }
  return undefined;
}

/**
 * moveToActive.lua / fetchNextJob.lua: the queue's global `max` (meta) wins over the worker's `limiter.max`;
 * the worker's `limiter.duration` wins over the global `duration`.
 */
export function rateLimitFor(meta: ReadonlyMap<string, string>, limiter: LimiterOptions | undefined): RateLimit {
  const globalMax = meta.get('max');
  return {
    maxJobs: luaNumber(globalMax !== undefined ? globalMax : limiter?.max),
    duration: luaNumber(limiter?.duration ?? meta.get('duration')),
  };
}

/** getRateLimitTTL.lua: the milliseconds left when `maxJobs` jobs were already taken in this window, else 0. */
export function rateLimitTtl(key: RateLimiterKey, maxJobs: number | undefined): number {
  if (maxJobs !== undefined && maxJobs <= key.get()) {
    const pttl = key.pttl();
    if (pttl > 0) return pttl;
  }
  return 0;
}

/**
 * The rate-limit part of prepareJobForProcessing.lua: a job taken under a limit counts towards the window (the
 * first one opens it for `duration` ms); a job with a deferred failure (stalled too often) does not count.
 */
export function countTakenJob(key: RateLimiterKey, limit: RateLimit, deferredFailure: boolean): void {
  if (limit.maxJobs === undefined || deferredFailure) return;
  if (key.incr() === 1) key.pexpire(Math.floor(Math.abs(limit.duration!)));
}

/**
 * Redis fails moveToActive with a Lua error when a limit has a max but no duration (`math.abs(nil)`). This
 * backend refuses it before touching any job, naming what is missing.
 */
export function assertLimitHasDuration(limit: RateLimit): void {
  if (limit.maxJobs !== undefined && limit.duration === undefined) {
    throw new Error(
      `rate limiting: a limit of ${limit.maxJobs} jobs has no duration (set the worker's limiter.duration, or use queue.setGlobalRateLimit(max, duration))`,
    );
  }
}

/** getRateLimitTtl.lua (Queue#getRateLimitTtl): `maxJobs` 0/undefined means "the queue's global max, else the raw PTTL". */
export function getRateLimitTtl(key: RateLimiterKey, meta: ReadonlyMap<string, string>, maxJobs: number | undefined): number {
  if (maxJobs) return rateLimitTtl(key, maxJobs);
  const globalMax = meta.get('max');
  if (globalMax !== undefined) return rateLimitTtl(key, luaNumber(globalMax));
  return key.pttl();
}

/**
 * The Worker sleeps the rate-limit delay it is handed in REAL time (`Worker#waitForRateLimit`, capped by
 * `maximumRateLimitDelay`), which a TestClock cannot shorten. The backend therefore hands it 0 and holds the
 * worker in `waitForJob` until the window ends on the store's clock ({@link RateLimiterKey}'s timer).
 */
export function withoutRealTimeLimitDelay<T extends unknown[]>(result: T): T {
  if (result.length >= 3 && typeof result[2] === 'number' && result[2] > 0) {
    const copy = [...result] as T;
    copy[2] = 0;
    return copy;
  }
  return result;
}
