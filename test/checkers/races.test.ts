import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobExecution } from '../../testing/history.js';
import { assertSingleWorkerPerEntity } from '../../testing/checkers/index.js';
import { exec } from './fixtures.js';

/**
 * Races under `fc.scheduler()`: every store / lock operation takes effect when the scheduler releases it (the
 * "scheduling a call to a mocked server" recipe), so fast-check explores the interleavings of the nodes.
 */
const remote =
  <A extends unknown[], R>(s: fc.Scheduler, label: string, fn: (...args: A) => R) =>
  (...args: A): Promise<R> =>
    s.schedule(Promise.resolve(), `${label}(${args.join(',')})`).then(() => fn(...args));

type Claim = (s: fc.Scheduler, store: Map<string, string>) => (key: string, node: string) => Promise<boolean>;

/** Deliberately racy: read, then write if free. Two nodes can both read "free". */
const checkThenSet: Claim = (s, store) => {
  const get = remote(s, 'GET', (key: string) => store.get(key));
  const set = remote(s, 'SET', (key: string, node: string) => void store.set(key, node));
  return async (key, node) => {
    if ((await get(key)) !== undefined) return false;
    await set(key, node);
    return true;
  };
};

/** Atomic compare-and-set (SET NX): one operation, one winner. */
const compareAndSet: Claim = (s, store) =>
  remote(s, 'SETNX', (key: string, node: string) => {
    if (store.has(key)) return false;
    store.set(key, node);
    return true;
  });

/** Three nodes boot in any order and race to claim order/1's worker; each winner processes job j0. */
async function claimRace(s: fc.Scheduler, claim: Claim): Promise<JobExecution[]> {
  const tryClaim = claim(s, new Map());
  const history: JobExecution[] = [];
  let clock = 0;
  const node = async (name: string) => {
    await s.schedule(Promise.resolve(), `${name} boots`);
    if (!(await tryClaim('order/1', name))) return;
    const start = clock++;
    await s.schedule(Promise.resolve(), `${name} processes j0`);
    history.push(exec('order/1', 0, start, clock++, { worker: `order-1-worker@${name}`, node: name }));
  };
  await s.waitFor(Promise.all(['a', 'b', 'c'].map(node)));
  return history;
}

const claimProperty = (claim: Claim) =>
  fc.asyncProperty(fc.scheduler(), async (s) => {
    const history = await claimRace(s, claim);
    expect(history.length).toBeGreaterThanOrEqual(1);
    assertSingleWorkerPerEntity(history);
  });

describe('claiming the worker of an entity under fc.scheduler()', () => {
  it('passes with an atomic compare-and-set', async () => {
    await fc.assert(claimProperty(compareAndSet), { numRuns: 300 });
  });

  it('catches the check-then-set race, reporting the overlapping workers', async () => {
    const details = await fc.check(claimProperty(checkThenSet), { numRuns: 300, seed: 1 });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(/single worker per entity violated: \d+ overlapping pairs/);
    expect(String(details.counterexample?.[0])).toMatch(/GET\(order\/1\)[\s\S]*GET\(order\/1\)[\s\S]*SET\(order\/1/);
  });
});

/** A lease lock with fencing tokens (the ResourceLockService contract) and a sink that may or may not check them. */
class LeaseLock {
  private holder: { owner: string; token: number; expiresAt: number } | undefined;
  private lastToken = 0;
  constructor(private readonly ttl: number) {}

  /** Atomic: grant when free or expired. */
  acquire(owner: string, now: number): { token: number; at: number; expiresAt: number } | null {
    if (this.holder && this.holder.expiresAt > now) return null;
    this.holder = { owner, token: ++this.lastToken, expiresAt: now + this.ttl };
    return { token: this.holder.token, at: now, expiresAt: this.holder.expiresAt };
  }

  release(owner: string, token: number): void {
    if (this.holder?.owner === owner && this.holder.token === token) this.holder = undefined;
  }
}

class Sink {
  private highest = 0;
  readonly accepted: number[] = [];
  constructor(private readonly fenced: boolean) {}
  write(token: number): boolean {
    if (this.fenced && token < this.highest) return false;
    this.highest = Math.max(this.highest, token);
    this.accepted.push(token);
    return true;
  }
}

const TTL = 2;

/**
 * Three clients contend for one lock while a clock ticks: a client may be paused past its lease (Kleppmann's GC
 * pause), so another client gets the lock and writes; the paused one then writes with its old token.
 */
async function lockContention(s: fc.Scheduler, fenced: boolean) {
  const lock = new LeaseLock(TTL);
  const sink = new Sink(fenced);
  let now = 0;
  const acquire = remote(s, 'ACQUIRE', (owner: string) => lock.acquire(owner, now));
  const write = remote(s, 'WRITE', (token: number) => sink.write(token));
  const release = remote(s, 'RELEASE', (owner: string, token: number) => lock.release(owner, token));
  const leases: JobExecution[] = [];
  const client = async (name: string) => {
    await s.schedule(Promise.resolve(), `${name} starts`);
    const lease = await acquire(name);
    if (!lease) return;
    await s.schedule(Promise.resolve(), `${name} works`);
    const applied = await write(lease.token);
    await release(name, lease.token);
    // The lease is valid until it was released or expired, whichever came first.
    leases.push(exec('lock/1', lease.token, lease.at, Math.min(now, lease.expiresAt), { worker: name, fencingToken: lease.token, applied }));
  };
  const clock = async () => {
    for (let tick = 0; tick < 6; tick++) {
      await s.schedule(Promise.resolve(), 'tick');
      now++;
    }
  };
  await s.waitFor(Promise.all([clock(), ...['a', 'b', 'c'].map(client)]));
  return { leases, accepted: sink.accepted };
}

const lockProperty = (fenced: boolean, stats = { rejected: 0 }) =>
  fc.asyncProperty(fc.scheduler(), async (s) => {
    const { leases, accepted } = await lockContention(s, fenced);
    stats.rejected += leases.filter((l) => l.applied === false).length;
    assertSingleWorkerPerEntity(leases); // valid leases never overlap
    const stale = accepted.findIndex((token, i) => i > 0 && token < Math.max(...accepted.slice(0, i)));
    if (stale >= 0) throw new Error(`stale write accepted: token ${accepted[stale]} after tokens ${accepted.slice(0, stale).join(', ')}`);
  });

describe('lock contention with fencing tokens under fc.scheduler()', () => {
  it('valid leases never overlap and the fenced sink never accepts a stale token', async () => {
    const stats = { rejected: 0 };
    await fc.assert(lockProperty(true, stats), { numRuns: 300 });
    expect(stats.rejected).toBeGreaterThan(0); // the runs did exercise paused clients writing with expired tokens
  });

  it('an unfenced sink accepts a paused client’s stale write', async () => {
    const details = await fc.check(lockProperty(false), { numRuns: 300, seed: 1 });
    expect(details.failed).toBe(true);
    expect(String(details.errorInstance)).toMatch(/stale write accepted: token 1 after tokens .*2/);
  });
});
