import { ConnectionClosedError } from 'bullmq';
import { describe, expect, it, vi } from 'vitest';
import { JobWaiter } from '../../src/engine/job-waiter.js';
import { TestClock } from '../../testing/clock/test-clock.js';

const never = () => new Promise<boolean>(() => undefined);

/** A waiter whose idle release is decided by the test: `decide(released)` answers the pending `onIdle`. */
function deciding(clock: TestClock, idleReleaseMs: number) {
  let answer: ((released: boolean) => void) | undefined;
  const w = new JobWaiter(clock, 'w', idleReleaseMs, { onIdle: () => new Promise<boolean>((r) => (answer = r)) });
  return { w, decide: (released: boolean) => answer!(released) };
}

describe('JobWaiter: the in-process blocking wait of an entity worker', () => {
  it('times out after the block timeout when nothing wakes it', async () => {
    const clock = new TestClock();
    const w = new JobWaiter(clock, 'w', 0, { onIdle: never });
    const wait = w.wait(5000);
    expect(w.isWaiting).toBe(true);
    await clock.advance(4999);
    expect(w.isWaiting).toBe(true);
    await clock.advance(1);
    await expect(wait).resolves.toBe('timeout');
    expect(w.isWaiting).toBe(false);
  });

  it('a wake ends the wait at once; a wake while busy makes the next wait return at once (no lost wake-up)', async () => {
    const clock = new TestClock();
    const w = new JobWaiter(clock, 'w', 0, { onIdle: never });
    const wait = w.wait(5000);
    w.wake();
    await expect(wait).resolves.toBe('woken');
    w.wake(); // the worker is fetching, not waiting
    await expect(w.wait(5000)).resolves.toBe('woken');
    // consumed: the wait after that blocks again
    const third = w.wait(100);
    await clock.advance(100);
    await expect(third).resolves.toBe('timeout');
  });

  it('cancel (the worker closes) rejects the wait like a dropped connection, and close rejects every later wait', async () => {
    const clock = new TestClock();
    const w = new JobWaiter(clock, 'w', 0, { onIdle: never });
    const wait = w.wait(5000);
    w.cancel();
    await expect(wait).rejects.toBeInstanceOf(ConnectionClosedError);
    w.close();
    await expect(w.wait(5000)).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('asks to release after idleReleaseMs without a job; a refused release resumes the worker and restarts the idle clock', async () => {
    const clock = new TestClock();
    const onIdle = vi.fn(async () => false);
    const w = new JobWaiter(clock, 'w', 1000, { onIdle });
    // Block timeouts shorter than the idle time: the worker polls, the idle time keeps adding up.
    let wait = w.wait(400);
    await clock.advance(400);
    await expect(wait).resolves.toBe('timeout');
    wait = w.wait(5000);
    await clock.advance(599);
    expect(onIdle).not.toHaveBeenCalled();
    await clock.advance(1);
    await expect(wait).resolves.toBe('woken');
    expect(onIdle).toHaveBeenCalledTimes(1);
    wait = w.wait(5000);
    await clock.advance(999);
    expect(onIdle).toHaveBeenCalledTimes(1);
    await clock.advance(1);
    await wait;
    expect(onIdle).toHaveBeenCalledTimes(2);
  });

  it('a job resets the idle clock (markBusy)', async () => {
    const clock = new TestClock();
    const onIdle = vi.fn(async () => false);
    const w = new JobWaiter(clock, 'w', 1000, { onIdle });
    let wait = w.wait(600);
    await clock.advance(600);
    await wait;
    w.markBusy();
    wait = w.wait(5000);
    await clock.advance(999);
    expect(onIdle).not.toHaveBeenCalled();
    await clock.advance(1);
    await wait;
    expect(onIdle).toHaveBeenCalledTimes(1);
  });

  it('an accepted release cuts the wait with ConnectionClosedError; wakes during the decision are held back', async () => {
    const clock = new TestClock();
    const { w, decide } = deciding(clock, 100);
    const wait = w.wait(5000);
    await clock.advance(100);
    expect(w.isReleasing).toBe(true);
    w.wake(); // held back: the release re-checks the queue itself
    expect(w.isWaiting).toBe(true);
    decide(true);
    await expect(wait).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(w.wait(10)).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('releaseIfIdle releases a waiting worker at once, and does nothing for a busy or never-released worker', async () => {
    const clock = new TestClock();
    const onIdle = vi.fn(async () => true);
    const w = new JobWaiter(clock, 'w', 60_000, { onIdle });
    expect(await w.releaseIfIdle()).toBe(false); // not waiting
    const wait = w.wait(5000);
    expect(await w.releaseIfIdle()).toBe(true);
    await expect(wait).rejects.toBeInstanceOf(ConnectionClosedError);
    const pinned = new JobWaiter(clock, 'p', 0, { onIdle });
    pinned.wait(5000).catch(() => undefined);
    expect(await pinned.releaseIfIdle()).toBe(false);
    expect(onIdle).toHaveBeenCalledTimes(1);
    pinned.close();
  });

  it('isIdle and isOpen follow the wait, the release decision and the close', async () => {
    const clock = new TestClock();
    const { w, decide } = deciding(clock, 100);
    expect([w.isIdle, w.isOpen]).toEqual([false, true]); // not waiting
    const wait = w.wait(5000);
    expect([w.isIdle, w.isOpen]).toEqual([true, true]);
    await clock.advance(100);
    expect([w.isIdle, w.isOpen, w.isReleasing]).toEqual([false, false, true]); // deciding
    decide(false);
    await expect(wait).resolves.toBe('woken');
    expect([w.isIdle, w.isOpen, w.isReleasing]).toEqual([false, true, false]);
    const pinned = new JobWaiter(clock, 'p', 0, { onIdle: never });
    pinned.wait(5000).catch(() => undefined);
    expect([pinned.isIdle, pinned.isOpen]).toEqual([false, true]); // waiting, but never released for idleness
    pinned.close();
    expect([pinned.isIdle, pinned.isOpen]).toEqual([false, false]);
  });

  it('a release that throws counts as refused: the worker goes on, and a wake held back during it is not replayed', async () => {
    const clock = new TestClock();
    let fail!: (err: Error) => void;
    const w = new JobWaiter(clock, 'w', 100, { onIdle: () => new Promise<boolean>((_, reject) => (fail = reject)) });
    const wait = w.wait(5000);
    await clock.advance(100);
    w.wake(); // held back while deciding
    fail(new Error('redis down'));
    await expect(wait).resolves.toBe('woken'); // the refused release already resumes the worker
    expect(w.isOpen).toBe(true);
    const next = w.wait(50); // the held-back wake was consumed by that resumption
    await clock.advance(50);
    await expect(next).resolves.toBe('timeout');
  });

  it('a release refused after its wait was cut leaves the next wait alone', async () => {
    const clock = new TestClock();
    const { w, decide } = deciding(clock, 100);
    const first = w.wait(5000);
    await clock.advance(100);
    w.cancel(); // e.g. the worker is being closed while the release decides
    await expect(first).rejects.toBeInstanceOf(ConnectionClosedError);
    const second = w.wait(5000);
    decide(false);
    await clock.settle();
    expect(w.isWaiting).toBe(true); // the refusal resolved the old wait, not this one
    w.wake();
    await expect(second).resolves.toBe('woken');
  });
});
