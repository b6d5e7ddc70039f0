import { isCluster } from '../drivers/redis-client.js';
import type { Clock, ClockTimer } from '../ports/clock.js';
import type { RedisClient } from '../ports/redis.js';
import { refreshHeartbeatScript, refreshHeartbeatsScript } from './heartbeat.lua.js';

/** One heartbeat key a node keeps alive. */
export interface HeartbeatMember {
  readonly name: string;
  /** `${keyPrefix}:workers:${workerName}` */
  readonly heartbeatKey: string;
  /** Only this exact value may refresh the key. */
  readonly owner: string;
  readonly ttlMs: number;
  /** The refresh period; members with equal periods share one timer. */
  readonly intervalMs: number;
  /** A list whose length each refresh also reports (the BullMQ active list of the worker's queue), if any. */
  readonly watchKey?: string;
  /** Clock time at which the last refresh that confirmed ownership was sent (or of the claim). */
  lastRefresh: number;
}

export interface RefreshOutcome<M extends HeartbeatMember> {
  member: M;
  owned: boolean;
  /** Length of `member.watchKey` at refresh time; undefined when not asked or not measurable (Cluster). */
  watchLength?: number;
}

/** Members per script call: bounds how long one call blocks Redis (about a millisecond). */
export const MAX_HEARTBEATS_PER_CALL = 1000;
/** Round trips of one period that may be unanswered at once; further ticks only check for expiry. */
export const MAX_REFRESHES_IN_FLIGHT = 3;

/**
 * Refreshes all `members` in one round trip: one batched script per MAX_HEARTBEATS_PER_CALL members, sent
 * together. On a Cluster (heartbeat keys live in different hash slots) every key gets its own script call,
 * still sent together, and watch lengths are not measured.
 */
export async function refreshHeartbeats<M extends HeartbeatMember>(redis: RedisClient, members: readonly M[]): Promise<RefreshOutcome<M>[]> {
  if (isCluster(redis)) {
    const owned = await Promise.all(
      members.map((m) => refreshHeartbeatScript.run<number>(redis, [m.heartbeatKey], [m.owner, m.ttlMs])),
    );
    return members.map((member, i) => ({ member, owned: Number(owned[i]) === 1 }));
  }
  const chunks: M[][] = [];
  for (let i = 0; i < members.length; i += MAX_HEARTBEATS_PER_CALL) chunks.push(members.slice(i, i + MAX_HEARTBEATS_PER_CALL));
  const replies = await Promise.all(chunks.map((chunk) => refreshChunk(redis, chunk)));
  return replies.flat();
}

async function refreshChunk<M extends HeartbeatMember>(redis: RedisClient, members: readonly M[]): Promise<RefreshOutcome<M>[]> {
  const watched = members.filter((m) => m.watchKey !== undefined);
  const keys = [...members.map((m) => m.heartbeatKey), ...watched.map((m) => m.watchKey!)];
  const args: Array<string | number> = [members.length];
  for (const m of members) args.push(m.owner, m.ttlMs);
  const reply = String(await refreshHeartbeatsScript.run<string>(redis, keys, args));
  const fields = reply === '' ? [] : reply.split(',');
  if (fields.length !== keys.length) {
    throw new Error(`heartbeat batch: expected ${keys.length} fields in the reply, got ${fields.length}`);
  }
  const lengths = new Map<M, number>(watched.map((m, j) => [m, Number(fields[members.length + j])]));
  return members.map((member, i) => ({ member, owned: fields[i] === '1', watchLength: lengths.get(member) }));
}

export interface NodeHeartbeatOptions<M extends HeartbeatMember> {
  redis: RedisClient;
  clock: Clock;
  /** Timer label prefix (shown by TestClock). */
  label: string;
  /** The members to refresh now with period `intervalMs` (read at every tick, so removal needs no call). */
  members(intervalMs: number): M[];
  /** The member's heartbeat is no longer ours (or could not be confirmed for a whole TTL). */
  onLost(member: M, why: string): void;
  /** After a successful round trip, with the members still owned. */
  onRefreshed?(outcomes: RefreshOutcome<M>[]): void;
}

/**
 * Keeps every heartbeat of a node alive with ONE background Clock interval per distinct refresh period (one in
 * total with default settings) and one round trip per tick, instead of a timer and a script call per worker.
 *
 * Every tick sends its refresh even while earlier ones are unanswered (up to MAX_REFRESHES_IN_FLIGHT): the
 * script only extends keys still holding our value, so overlapping refreshes are harmless, and Redis keeps
 * seeing one refresh per period even when a busy event loop reads replies late. While refreshes are
 * unanswered, members whose last confirmed refresh is a whole TTL old are reported lost (their key has
 * expired unless it was extended).
 */
export class NodeHeartbeat<M extends HeartbeatMember> {
  private readonly tickers = new Map<number, { timer: ClockTimer; inFlight: number }>();

  constructor(private readonly opts: NodeHeartbeatOptions<M>) {}

  /** Makes sure members with this period are refreshed (idempotent). */
  ensure(intervalMs: number): void {
    if (this.tickers.has(intervalMs)) return;
    const timer = this.opts.clock.setInterval(() => void this.tick(intervalMs), intervalMs, {
      unref: true,
      label: `${this.opts.label} heartbeats every ${intervalMs} ms`,
    });
    this.tickers.set(intervalMs, { timer, inFlight: 0 });
  }

  /** Number of running timers (one per distinct period with members). */
  get timerCount(): number {
    return this.tickers.size;
  }

  stop(): void {
    for (const { timer } of this.tickers.values()) this.opts.clock.clear(timer);
    this.tickers.clear();
  }

  /** One refresh round trip for the members of `intervalMs` (the timer calls it; exposed for tests). */
  async tick(intervalMs: number): Promise<void> {
    const ticker = this.tickers.get(intervalMs);
    if (!ticker) return;
    let members = this.opts.members(intervalMs);
    if (members.length === 0) {
      this.opts.clock.clear(ticker.timer);
      this.tickers.delete(intervalMs);
      return;
    }
    if (ticker.inFlight > 0) {
      // After a long stretch of work the timer phase runs before the I/O phase that may already hold the
      // answer: read it first, so a refresh that succeeded is not mistaken for a lost heartbeat.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.tickers.get(intervalMs) !== ticker) return;
      members = this.opts.members(intervalMs);
      const lost = this.expireUnconfirmed(members, (ttl) => `no heartbeat refresh answered for ${ttl} ms`);
      if (ticker.inFlight >= MAX_REFRESHES_IN_FLIGHT || lost.size === members.length) return;
      members = members.filter((m) => !lost.has(m));
    }
    ticker.inFlight += 1;
    // Redis ran the refresh after it was sent: counting from the send time never overstates how long the key lives.
    const at = this.opts.clock.now();
    try {
      const outcomes = await refreshHeartbeats(this.opts.redis, members);
      const kept: RefreshOutcome<M>[] = [];
      for (const outcome of outcomes) {
        if (outcome.owned) {
          outcome.member.lastRefresh = at;
          kept.push(outcome);
        } else {
          this.opts.onLost(outcome.member, 'lost its heartbeat (another owner or expired)');
        }
      }
      this.opts.onRefreshed?.(kept);
    } catch (err) {
      this.expireUnconfirmed(members, (ttl) => `could not refresh its heartbeat for ${ttl} ms (${String(err)})`);
    } finally {
      ticker.inFlight -= 1;
    }
  }

  /** Reports (and returns) the members whose last confirmed refresh is a whole TTL old. */
  private expireUnconfirmed(members: readonly M[], why: (ttlMs: number) => string): Set<M> {
    const now = this.opts.clock.now();
    const lost = new Set(members.filter((m) => now - m.lastRefresh >= m.ttlMs));
    for (const m of lost) this.opts.onLost(m, why(m.ttlMs));
    return lost;
  }
}
