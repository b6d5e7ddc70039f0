import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { Logger } from '@nestjs/common';
import { refreshHeartbeatScript, refreshHeartbeatsScript } from '../../src/workers/heartbeat.lua.js';
import { MAX_HEARTBEATS_PER_CALL, MAX_REFRESHES_IN_FLIGHT, NodeHeartbeat, refreshHeartbeats, type HeartbeatMember } from '../../src/workers/node-heartbeat.js';
import { NodeStallChecks, type StallCheckTarget } from '../../src/workers/stall-checks.js';
import type { RedisClient } from '../../src/ports/redis.js';
import { TestClock } from '../../testing/clock/test-clock.js';
import { startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';
import { makeCore, uniquePrefix, waitFor, type Core } from './support.js';

const WORKERS = 200;
const INTERVAL = 1000;

/** Runs `fn` over `items`, `limit` at a time. */
async function inBatches<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

describe('WorkerManagerService: one batched heartbeat per node', () => {
  let server: RedisServerHandle;
  let c: Core | undefined;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await c?.close();
    c = undefined;
  });
  afterAll(async () => {
    await server.stop();
  });

  it(`${WORKERS} workers keep their heartbeats with one refresh round trip per interval; a lost key closes only its worker`, async () => {
    const clock = new TestClock();
    const core = (c = makeCore(
      { redis: { url: server.url }, workerDefaults: { heartbeatTTL: 30, heartbeatInterval: INTERVAL, stalledInterval: 1000, lockDuration: 5000 } },
      uniquePrefix(),
      clock,
    ));
    const prefix = core.config.keyPrefix;
    const names = Array.from({ length: WORKERS }, (_, i) => `w${i}`);
    const hbKey = (name: string) => `${prefix}:workers:${name}`;
    const closed: Array<[string, string]> = [];
    await inBatches(names, 25, (name) =>
      core.workers.createWorker({
        workerName: name,
        queueName: `q-${name}`,
        processor: async () => undefined,
        events: { onClosed: (n, reason) => void closed.push([n, reason]) },
      }),
    );
    expect(core.workers.getLocalWorkerNames()).toHaveLength(WORKERS);
    const heartbeatTimers = () => clock.pending().filter((t) => t.label?.includes('heartbeats every'));
    expect(heartbeatTimers().map((t) => [t.interval, t.unref])).toEqual([[INTERVAL, true]]);

    // Count what reaches the server: the batch script, the per-key script, BullMQ's stalled checks.
    await core.redis.script('LOAD', refreshHeartbeatsScript.source);
    const monitorClient = new Redis(server.url);
    const monitor = await monitorClient.monitor();
    const batchCalls: string[][] = [];
    let singleRefreshes = 0;
    let stalledChecks = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      const command = args[0]?.toLowerCase();
      if (command !== 'evalsha' && command !== 'eval') return;
      if (args[1] === refreshHeartbeatsScript.sha || args[1] === refreshHeartbeatsScript.source) batchCalls.push(args);
      if (args[1] === refreshHeartbeatScript.sha || args[1] === refreshHeartbeatScript.source) singleRefreshes += 1;
      if (args.some((a) => a.endsWith(':stalled-check'))) stalledChecks += 1;
    });
    const batch = vi.spyOn(refreshHeartbeatsScript, 'run');
    const tick = async (expectedCalls: number) => {
      await clock.advance(INTERVAL);
      expect(batch).toHaveBeenCalledTimes(expectedCalls);
      await batch.mock.results[expectedCalls - 1]!.value;
      await clock.settle();
      await waitFor(() => batchCalls.length === expectedCalls, 5000, `round trip ${expectedCalls} seen by MONITOR`);
    };

    try {
      // Shorten every key: only the batched refresh can bring them back to the 30 s TTL.
      await core.redis.pipeline(names.map((n) => ['pexpire', hbKey(n), 5000])).exec();
      await tick(1);
      const pttls = (await core.redis.pipeline(names.map((n) => ['pttl', hbKey(n)])).exec())!.map(([, v]) => Number(v));
      expect(Math.min(...pttls)).toBeGreaterThan(20_000);
      const [, sha, numKeys, ...rest] = batchCalls[0]!;
      expect(sha).toBe(refreshHeartbeatsScript.sha);
      // Every heartbeat plus every queue's active list (for the node's stalled-check decision), in one call.
      expect(Number(numKeys)).toBe(2 * WORKERS);
      expect(rest.slice(0, WORKERS)).toEqual(names.map(hbKey));
      // No queue holds a job to recover: the checks every worker ran at start are paused.
      expect(clock.pending().filter((t) => t.label?.startsWith('stalled check'))).toEqual([]);
      // MONITOR delivers asynchronously and workers run one stalled check as they start: let that start-up traffic
      // drain (the count stays put for 300 ms) before taking the baseline the later ticks must not move.
      let settled = -1;
      await waitFor(async () => {
        const before = stalledChecks;
        await new Promise((r) => setTimeout(r, 300));
        settled = stalledChecks;
        return settled === before;
      }, 10_000, 'start-up stalled checks to drain');
      const stalledChecksAfterFirstTick = settled;

      await tick(2);
      await tick(3);
      expect(batchCalls).toHaveLength(3);
      expect(singleRefreshes).toBe(0);
      expect(stalledChecks).toBe(stalledChecksAfterFirstTick);
      expect(closed).toEqual([]);
      expect(core.workers.getLocalWorkerNames()).toHaveLength(WORKERS);

      // Another node owns w17 now: the next tick closes w17, and only it.
      await core.redis.set(hbKey('w17'), 'other-node|abc', 'KEEPTTL');
      await tick(4);
      await waitFor(() => closed.length === 1, 5000, 'w17 closed');
      expect(closed).toEqual([['w17', 'heartbeat-lost']]);
      expect(core.workers.getLocalWorkerNames()).toHaveLength(WORKERS - 1);
      expect(core.workers.getLocalWorkerNames()).not.toContain('w17');
      expect(await core.redis.get(hbKey('w17'))).toBe('other-node|abc');
      await tick(5);
      expect(Number(batchCalls[4]![2])).toBe(2 * (WORKERS - 1));
      expect(batchCalls[4]).not.toContain(hbKey('w17'));
      expect(closed).toHaveLength(1);
      expect(heartbeatTimers()).toHaveLength(1);
    } finally {
      monitor.disconnect();
      monitorClient.disconnect();
    }
    await core.workers.shutdown(5000);
    await clock.advance(INTERVAL); // the tick finds no worker left and stops the timer
    expect(heartbeatTimers()).toEqual([]);
  });
});

describe('WorkerManagerService: stalled checks scheduled by the node', () => {
  it('an idle worker whose checks were paused recovers a job left active by a dead worker of its queue', async () => {
    const c = makeCore();
    try {
      const q = await c.queues.getOrCreateEntityQueue('order', 'o1');
      const ran: string[] = [];
      const batch = vi.spyOn(refreshHeartbeatsScript, 'run');
      const res = await c.workers.createWorker({ workerName: 'w1', queueName: q.name, processor: async (job: Job) => void ran.push(String(job.id)) });
      if (!res.created) throw new Error('w1 not created');
      // Two refresh round trips with an empty active list: w1's start-up checks are paused.
      await waitFor(() => batch.mock.calls.length >= 2, 5000, 'two heartbeat ticks');
      await batch.mock.results[1]!.value;
      await res.worker.pause(); // waits until its fetch loop has stopped

      // A worker elsewhere takes a job (lock 1 s) and dies without finishing it.
      const deadConnection = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
      const dead = new Worker(q.name, null, { connection: deadConnection, prefix: c.config.keyPrefix, lockDuration: 1000 });
      const added = await c.queues.addJob(q.name, 'orphan', {});
      const taken = await dead.getNextJob('dead-token');
      expect(taken?.id).toBe(added.id);
      await dead.close(true);
      deadConnection.disconnect();
      expect(await (await q.getJob(added.id))?.getState()).toBe('active');

      res.worker.resume();
      await waitFor(() => ran.length === 1, 10_000, 'orphaned job recovered by w1');
      expect(ran).toEqual([added.id]);
    } finally {
      vi.restoreAllMocks();
      await c.close();
    }
  });

  it('pauses and resumes one worker’s checks from the active-list length and the jobs local workers run', async () => {
    const clock = new TestClock();
    const checks: string[] = [];
    const target = (name: string, queueName: string, running = 0): StallCheckTarget => ({
      name,
      queueName,
      running,
      settings: { stalledInterval: 500 },
      worker: { closing: undefined, moveStalledJobsToWait: async () => void checks.push(name) } as unknown as StallCheckTarget['worker'],
    });
    const stalls = new NodeStallChecks<StallCheckTarget>(clock, new Logger('test'));
    const a = target('a', 'q1');
    const b = target('b', 'q1', 1);
    const timers = () => clock.pending().map((t) => [t.label, t.interval, t.unref]);

    stalls.start(a); // like BullMQ at start: once now, then every stalledInterval
    await clock.settle();
    expect(checks).toEqual(['a']);
    expect(timers()).toEqual([['stalled check a', 500, true]]);

    stalls.update([{ member: a, watchLength: 1 }], [a, b]); // the one active job is b's
    expect(timers()).toEqual([]);
    await clock.advance(2000);
    expect(checks).toEqual(['a']);

    stalls.update([{ member: a, watchLength: 2 }], [a, b]); // one active job nobody here runs
    expect(timers()).toEqual([['stalled check a', 500, true]]);
    await clock.advance(1000);
    expect(checks).toEqual(['a', 'a', 'a']);

    stalls.update([{ member: a, watchLength: undefined }], [a, b]); // unknown: keep checking
    await clock.advance(500);
    expect(checks).toEqual(['a', 'a', 'a', 'a']);

    stalls.update([{ member: a, watchLength: 0 }], [a, b]);
    await clock.advance(1000);
    expect(checks).toHaveLength(4);
    expect(timers()).toEqual([]);
  });
});

describe('NodeHeartbeat: refreshes while replies are late', () => {
  it('keeps sending one refresh per tick (at most MAX_REFRESHES_IN_FLIGHT unanswered) and reports members lost after a TTL without answer', async () => {
    const clock = new TestClock();
    const replies: Array<(reply: string) => void> = [];
    const redis = { evalsha: () => new Promise<string>((resolve) => replies.push(resolve)) } as unknown as RedisClient;
    const member = (name: string): HeartbeatMember => ({ name, heartbeatKey: `k:${name}`, owner: 'n|t', ttlMs: 3000, intervalMs: 1000, lastRefresh: clock.now() });
    const members = [member('a'), member('b')];
    const lost: Array<[string, string]> = [];
    const hb = new NodeHeartbeat({ redis, clock, label: 't', members: () => members.filter((m) => !lost.some(([n]) => n === m.name)), onLost: (m, why) => void lost.push([m.name, why]) });
    hb.ensure(1000);
    hb.ensure(1000);
    expect(hb.timerCount).toBe(1);

    await clock.advance(1000);
    await clock.advance(1000);
    expect(replies).toHaveLength(2); // the second tick did not wait for the first reply
    replies[1]!('1,0'); // b is no longer ours
    await clock.settle();
    expect(lost).toEqual([['b', 'lost its heartbeat (another owner or expired)']]);
    expect(members[0]!.lastRefresh).toBe(clock.now());

    await clock.advance(3000); // three more ticks, none answered: a's last confirmation is now a TTL old
    expect(replies).toHaveLength(2 + MAX_REFRESHES_IN_FLIGHT - 1);
    expect(lost.map(([n]) => n)).toEqual(['b', 'a']);
    expect(lost[1]![1]).toMatch(/no heartbeat refresh answered for 3000 ms/);
    members.length = 0;
    await clock.advance(1000);
    expect(hb.timerCount).toBe(0); // no members left: the timer stops
  });

  it('a late tick reads a reply that already arrived before judging; a confirmation counts from when the refresh was sent', async () => {
    const clock = new TestClock();
    const replies: Array<(reply: string) => void> = [];
    const redis = { evalsha: () => new Promise<string>((resolve) => replies.push(resolve)) } as unknown as RedisClient;
    const a: HeartbeatMember = { name: 'a', heartbeatKey: 'k:a', owner: 'n|t', ttlMs: 3000, intervalMs: 1000, lastRefresh: clock.now() };
    const lost: string[] = [];
    const hb = new NodeHeartbeat({ redis, clock, label: 't', members: () => (lost.length ? [] : [a]), onLost: (m) => void lost.push(m.name) });
    hb.ensure(1000);
    await clock.advance(1000); // refresh #1 sent now, unanswered
    const sentAt = clock.now();
    // The event loop was busy for a whole TTL: the answer to #1 is waiting to be read when the timer fires.
    a.lastRefresh = clock.now() - 3000;
    setImmediate(() => replies[0]!('1'));
    const late = hb.tick(1000);
    await clock.settle();
    expect(lost).toEqual([]);
    expect(a.lastRefresh).toBe(sentAt);
    expect(replies).toHaveLength(2); // and the late tick still sent its own refresh (#2, at sentAt)

    await clock.advance(500); // no tick: #2 answered 500 ms after it was sent
    replies[1]!('1');
    await late;
    expect(a.lastRefresh).toBe(sentAt);
    hb.stop();
  });
});

/** A fake client that records every script call (keys and args) and answers from `answer`. */
function recordingRedis(answer: (keys: string[], args: Array<string | number>) => unknown, extra: Record<string, unknown> = {}) {
  const calls: Array<{ keys: string[]; args: Array<string | number> }> = [];
  const redis = {
    ...extra,
    evalsha: async (_sha: string, numKeys: number, ...rest: Array<string | number>) => {
      const call = { keys: rest.slice(0, numKeys).map(String), args: rest.slice(numKeys) };
      calls.push(call);
      return answer(call.keys, call.args);
    },
  } as unknown as RedisClient;
  return { redis, calls };
}

describe('refreshHeartbeats: the batched refresh and what it reports', () => {
  const member = (name: string, over: Partial<HeartbeatMember> = {}): HeartbeatMember => ({ name, heartbeatKey: `k:${name}`, owner: `o:${name}`, ttlMs: 3000, intervalMs: 1000, lastRefresh: 0, ...over });
  const allOwned = (keys: string[], args: Array<string | number>) => keys.map((_, i) => (i < Number(args[0]) ? '1' : '7')).join(',');

  it(`sends ${MAX_HEARTBEATS_PER_CALL} members per call (no empty call at an exact multiple) with each owner and TTL`, async () => {
    const { redis, calls } = recordingRedis(allOwned);
    const members = Array.from({ length: MAX_HEARTBEATS_PER_CALL + 1 }, (_, i) => member(`m${i}`));
    const outcomes = await refreshHeartbeats(redis, members);
    expect(calls.map((c) => c.keys.length)).toEqual([MAX_HEARTBEATS_PER_CALL, 1]);
    expect(calls[1]).toEqual({ keys: [`k:m${MAX_HEARTBEATS_PER_CALL}`], args: [1, `o:m${MAX_HEARTBEATS_PER_CALL}`, 3000] });
    expect(outcomes).toHaveLength(members.length);
    expect(outcomes.every((o) => o.owned)).toBe(true);
    calls.length = 0;
    await refreshHeartbeats(redis, members.slice(0, MAX_HEARTBEATS_PER_CALL));
    expect(calls).toHaveLength(1);
  });

  it('reports ownership per member and the length of each watched list; a reply of the wrong size is an error', async () => {
    const { redis, calls } = recordingRedis(() => '1,0,1,4,0');
    const [a, b, c] = [member('a', { watchKey: 'active:a' }), member('b'), member('c', { watchKey: 'active:c' })];
    const outcomes = await refreshHeartbeats(redis, [a, b, c]);
    expect(calls[0]!.keys).toEqual(['k:a', 'k:b', 'k:c', 'active:a', 'active:c']);
    expect(outcomes.map((o) => [o.member.name, o.owned, o.watchLength])).toEqual([
      ['a', true, 4],
      ['b', false, undefined],
      ['c', true, 0],
    ]);
    const short = recordingRedis(() => '1');
    await expect(refreshHeartbeats(short.redis, [a, b])).rejects.toThrow('heartbeat batch: expected 3 fields in the reply, got 1');
    const empty = recordingRedis(() => '');
    await expect(refreshHeartbeats(empty.redis, [b])).rejects.toThrow('heartbeat batch: expected 1 fields in the reply, got 0');
  });

  it('on a Cluster refreshes every key with its own call (keys in different slots) and measures no list', async () => {
    const { redis, calls } = recordingRedis((keys) => (keys[0] === 'k:b' ? 0 : 1), { isCluster: true });
    const outcomes = await refreshHeartbeats(redis, [member('a', { watchKey: 'active:a' }), member('b')]);
    expect(calls).toEqual([
      { keys: ['k:a'], args: ['o:a', 3000] },
      { keys: ['k:b'], args: ['o:b', 3000] },
    ]);
    expect(outcomes.map((o) => [o.member.name, o.owned, o.watchLength])).toEqual([
      ['a', true, undefined],
      ['b', false, undefined],
    ]);
  });
});

describe('NodeHeartbeat: what a tick sends and reports', () => {
  /** `members` may be filled after the call (their times are read from the returned clock). */
  const setup = (members: HeartbeatMember[], answer: (keys: string[], args: Array<string | number>) => unknown) => {
    const clock = new TestClock();
    const { redis, calls } = recordingRedis(answer);
    const lost: Array<[string, string]> = [];
    const refreshed: string[][] = [];
    const hb = new NodeHeartbeat({
      redis,
      clock,
      label: 't',
      members: () => members.filter((m) => !lost.some(([n]) => n === m.name)),
      onLost: (m, why) => void lost.push([m.name, why]),
      onRefreshed: (kept) => void refreshed.push(kept.map((o) => o.member.name)),
    });
    hb.ensure(1000);
    const member = (name: string, ageMs: number, ttlMs = 3000): HeartbeatMember => ({ name, heartbeatKey: `k:${name}`, owner: 'n|t', ttlMs, intervalMs: 1000, lastRefresh: clock.now() - ageMs });
    return { clock, calls, lost, refreshed, hb, member };
  };
  const owned = (keys: string[]) => keys.map(() => '1').join(',');

  it('with no refresh in flight sends every member, even one a TTL old, and judges it by the answer', async () => {
    const members: HeartbeatMember[] = [];
    const { clock, calls, lost, refreshed, hb, member } = setup(members, owned);
    const stale = member('stale', 3000);
    members.push(stale, member('b', 0));
    await hb.tick(1000);
    expect(calls.map((c) => c.keys)).toEqual([['k:stale', 'k:b']]);
    expect(lost).toEqual([]);
    expect(refreshed).toEqual([['stale', 'b']]);
    expect(stale.lastRefresh).toBe(clock.now());
    hb.stop();
  });

  it('hands onRefreshed only the members still owned', async () => {
    const members: HeartbeatMember[] = [];
    const { lost, refreshed, hb, member } = setup(members, () => '0,1');
    members.push(member('a', 0), member('b', 0));
    await hb.tick(1000);
    expect(refreshed).toEqual([['b']]);
    expect(lost.map(([n]) => n)).toEqual(['a']);
    hb.stop();
  });

  it(`stops sending at ${MAX_REFRESHES_IN_FLIGHT} unanswered refreshes while no member is a TTL old, and leaves lost members out of the next refresh`, async () => {
    const pending: Array<() => void> = [];
    const members: HeartbeatMember[] = [];
    const { clock, calls, lost, hb, member } = setup(members, (keys) => new Promise((resolve) => pending.push(() => resolve(owned(keys)))));
    const a = member('a', 0, 60_000);
    members.push(a, member('b', 0, 1500));
    await clock.advance(1000); // #1 sent with both
    await clock.advance(1000); // b's last confirmation is 2 s old (TTL 1.5 s): lost; #2 sent without it
    expect(lost).toEqual([['b', 'no heartbeat refresh answered for 1500 ms']]);
    expect(calls.map((c) => c.keys)).toEqual([['k:a', 'k:b'], ['k:a']]);
    await clock.advance(5000);
    expect(calls).toHaveLength(MAX_REFRESHES_IN_FLIGHT);
    const before = a.lastRefresh;
    for (const answer of pending.splice(0)) answer();
    await clock.settle();
    expect(a.lastRefresh).toBeGreaterThan(before);
    await clock.advance(1000); // answered: ticks send again
    expect(calls).toHaveLength(MAX_REFRESHES_IN_FLIGHT + 1);
    hb.stop();
  });

  it('reports and sends nothing more while every member is past its TTL with a refresh unanswered', async () => {
    const members: HeartbeatMember[] = [];
    const { clock, calls, lost, refreshed, hb, member } = setup(members, () => new Promise(() => undefined));
    members.push(member('a', 0, 1500));
    await clock.advance(1000); // #1 sent, never answered
    await clock.advance(1000); // a's last confirmation is a TTL old
    expect(lost.map(([n]) => n)).toEqual(['a']);
    expect(calls).toHaveLength(1);
    expect(refreshed).toEqual([]);
    hb.stop();
  });
});
