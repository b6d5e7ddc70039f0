import { describe, expect, it } from 'vitest';
import { DEFAULT_TEST_CLOCK_START, TestClock } from '../../testing/clock/index.js';

describe('TestClock', () => {
  it('starts at 2026-01-01T00:00:00Z unless given a start', () => {
    expect(new Date(new TestClock().now()).toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(new TestClock({ start: new Date('2030-05-05T00:00:00Z') }).now()).toBe(Date.UTC(2030, 4, 5));
    expect(new TestClock({ start: 1234 }).now()).toBe(1234);
    expect(DEFAULT_TEST_CLOCK_START).toBe(Date.UTC(2026, 0, 1));
  });

  it('rejects bad input with the field and value', async () => {
    expect(() => new TestClock({ start: Number.NaN })).toThrow(/options\.start.*NaN/);
    expect(() => new TestClock({ settleTurns: 0 })).toThrow(/options\.settleTurns.*0/);
    await expect(new TestClock().advance(-1)).rejects.toThrow(/ms must be a finite number >= 0, got -1/);
    expect(() => new TestClock().setInterval(() => {}, 0)).toThrow(/ms must be > 0, got 0/);
  });

  it('runs due timers in time order, same-time timers in scheduling order, and reads the due time inside them', async () => {
    const clock = new TestClock({ start: 0 });
    const log: string[] = [];
    clock.setTimeout(() => log.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => log.push(`c@${clock.now()}`), 20);
    clock.setTimeout(() => log.push(`late@${clock.now()}`), 31);
    await clock.advance(30);
    expect(log).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(30);
    await clock.advance(1);
    expect(log.at(-1)).toBe('late@31');
  });

  it('fires intervals repeatedly and stops after clear', async () => {
    const clock = new TestClock({ start: 0 });
    const ticks: number[] = [];
    const t = clock.setInterval(() => ticks.push(clock.now()), 100);
    await clock.advance(350);
    expect(ticks).toEqual([100, 200, 300]);
    clock.clear(t);
    await clock.advance(1000);
    expect(ticks).toEqual([100, 200, 300]);
  });

  it('lets async chains settle between steps so a timer scheduled after an await still runs in the same advance', async () => {
    const clock = new TestClock({ start: 0 });
    const log: number[] = [];
    const loop = async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        await Promise.resolve();
        log.push(clock.now());
      }
    };
    const done = loop();
    await clock.advance(30);
    expect(log).toEqual([10, 20, 30]);
    await done;
  });

  it('runForegroundTimers advances through ref timers, ignores unref ones, and fails clearly when it cannot settle', async () => {
    const clock = new TestClock({ start: 0 });
    let fired = 0;
    clock.setTimeout(() => fired++, 5000);
    clock.setTimeout(() => fired++, 1_000_000, { unref: true });
    await clock.runForegroundTimers();
    expect(fired).toBe(1);
    expect(clock.now()).toBe(5000);
    expect(clock.pending()).toMatchObject([{ unref: true, inMs: 995_000 }]);

    const busy = new TestClock({ start: 0 });
    busy.setInterval(() => {}, 1000, { label: 'heartbeat' });
    await expect(busy.runForegroundTimers({ maxMs: 10_000 })).rejects.toThrow(/foreground timers left after .*heartbeat/);
  });

  it('sleep resolves only when the clock reaches it', async () => {
    const clock = new TestClock({ start: 0 });
    let done = false;
    void clock.sleep(100).then(() => (done = true));
    await clock.advance(99);
    expect(done).toBe(false);
    await clock.advance(1);
    expect(done).toBe(true);
  });
});
