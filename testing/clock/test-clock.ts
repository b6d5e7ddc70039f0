import type { Clock, ClockTimer } from '../../src/ports/clock.js';
import { simulatedRoundTripsInFlight } from './simulated-io.js';

/**
 * Extra timer options understood by {@link TestClock}. `unref: true` marks a "background" timer, like Node's
 * `timer.unref()`: it fires normally when the clock passes its due time, but {@link TestClock.runForegroundTimers}
 * does not wait for it (idle workers' block timeouts, lock renewal, stalled checks).
 * Other clocks ignore the third argument (SystemClock's timers are unref'd anyway).
 */
export interface TestTimerOptions {
  unref?: boolean;
  /** Shown by `pending()` to make a stuck `runForegroundTimers` easy to read. */
  label?: string;
}

/** A clock whose `setTimeout` accepts {@link TestTimerOptions}; callers use it through {@link setBackgroundTimeout}. */
export interface TimerOptionsClock extends Clock {
  setTimeout(fn: () => void, ms: number, options?: TestTimerOptions): ClockTimer;
  setInterval(fn: () => void, ms: number, options?: TestTimerOptions): ClockTimer;
}

/** Schedules a timer that must not keep a TestClock busy (plain clocks just get a normal timer). */
export function setBackgroundTimeout(clock: Clock, fn: () => void, ms: number, label?: string): ClockTimer {
  return (clock as TimerOptionsClock).setTimeout(fn, ms, { unref: true, label });
}

export function setBackgroundInterval(clock: Clock, fn: () => void, ms: number, label?: string): ClockTimer {
  return (clock as TimerOptionsClock).setInterval(fn, ms, { unref: true, label });
}

export interface PendingTimer {
  id: number;
  /** Absolute due time on the clock. */
  due: number;
  /** Milliseconds from now. */
  inMs: number;
  interval?: number;
  unref: boolean;
  label?: string;
}

export interface TestClockOptions {
  /** Start time (ms since epoch or Date). Default 2026-01-01T00:00:00.000Z. */
  start?: number | Date;
  /** Real `setImmediate` turns run between timer steps so promise chains settle. Default 3. */
  settleTurns?: number;
}

export interface RunForegroundTimersOptions {
  /** Most clock time runForegroundTimers may advance before giving up. Default 1 hour. */
  maxMs?: number;
  /** Most timer callbacks it may run before giving up. Default 100,000. */
  maxSteps?: number;
}

interface Entry {
  id: number;
  seq: number;
  due: number;
  fn: () => void;
  interval?: number;
  unref: boolean;
  label?: string;
}

export const DEFAULT_TEST_CLOCK_START = Date.UTC(2026, 0, 1, 0, 0, 0, 0);

const realSetImmediate = globalThis.setImmediate;
const MAX_STEPS_PER_ADVANCE = 1_000_000;
/** Most macrotask turns one settle() takes while simulated round trips keep coming. */
const MAX_SETTLE_TURNS = 10_000;

/**
 * Deterministic clock: time only moves in `advance` / `advanceTo` / `runForegroundTimers`. Timers due at the same time run in the
 * order they were scheduled. Between timer callbacks the clock lets promise chains settle by draining
 * microtasks and yielding a few macrotask turns through the REAL `setImmediate` (I/O-free async code
 * completes; real sockets or real timers are not waited for).
 */
export class TestClock implements TimerOptionsClock {
  private current: number;
  private readonly timers = new Map<number, Entry>();
  private nextId = 1;
  private nextSeq = 1;
  private readonly settleTurns: number;
  private advancing = false;

  constructor(options: TestClockOptions = {}) {
    const start = options.start instanceof Date ? options.start.getTime() : (options.start ?? DEFAULT_TEST_CLOCK_START);
    if (!Number.isFinite(start)) {
      throw new Error(`TestClock: options.start must be a finite number of ms or a valid Date, got ${String(options.start)}`);
    }
    const turns = options.settleTurns ?? 3;
    if (!Number.isInteger(turns) || turns < 1) {
      throw new Error(`TestClock: options.settleTurns must be an integer >= 1, got ${String(options.settleTurns)}`);
    }
    this.current = start;
    this.settleTurns = turns;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number, options: TestTimerOptions = {}): ClockTimer {
    return this.schedule(fn, ms, undefined, options);
  }

  setInterval(fn: () => void, ms: number, options: TestTimerOptions = {}): ClockTimer {
    if (!(ms > 0)) throw new Error(`TestClock.setInterval: ms must be > 0, got ${ms}`);
    return this.schedule(fn, ms, ms, options);
  }

  clear(timer: ClockTimer | undefined): void {
    if (timer && typeof timer.ref === 'number') this.timers.delete(timer.ref);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms, { label: 'sleep' }));
  }

  /** Timers still scheduled, earliest first. */
  pending(): PendingTimer[] {
    return this.sorted().map((e) => ({
      id: e.id,
      due: e.due,
      inMs: e.due - this.current,
      interval: e.interval,
      unref: e.unref,
      label: e.label,
    }));
  }

  /**
   * Lets promise chains run without moving time: `settleTurns` macrotask turns, then more while simulated round
   * trips (the in-memory backend's replies) are in flight, up to {@link MAX_SETTLE_TURNS} (work that never
   * stops talking to the backend, like a processor re-adding its own job, must not hang the clock).
   */
  async settle(): Promise<void> {
    for (let i = 0; i < this.settleTurns || (simulatedRoundTripsInFlight() > 0 && i < MAX_SETTLE_TURNS); i++) {
      await new Promise<void>((resolve) => realSetImmediate(resolve));
    }
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way, in time order. */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new Error(`TestClock.advance: ms must be a finite number >= 0, got ${ms}`);
    }
    await this.advanceTo(this.current + ms);
  }

  /** Moves time to the absolute time `target` (>= now). */
  async advanceTo(target: number): Promise<void> {
    if (target < this.current) {
      throw new Error(`TestClock.advanceTo: target ${target} is before now (${this.current})`);
    }
    if (this.advancing) throw new Error('TestClock: advance/runForegroundTimers called while another advance is running');
    this.advancing = true;
    try {
      await this.settle();
      for (let steps = 0; ; steps++) {
        const next = this.earliest(() => true);
        if (!next || next.due > target) break;
        if (steps >= MAX_STEPS_PER_ADVANCE) {
          throw new Error(
            `TestClock.advance: more than ${MAX_STEPS_PER_ADVANCE} timer callbacks before reaching ${target} ` +
              `(a timer that keeps rescheduling itself at 0 ms?); pending timers: ${this.describePending()}`,
          );
        }
        this.fire(next);
        await this.settle();
      }
      this.current = target;
      await this.settle();
    } finally {
      this.advancing = false;
    }
  }

  /**
   * Advances from timer to timer until no foreground (ref'd) timer is left; background (`unref`) timers due
   * earlier still run on the way. This is about timers only: the module's own timers are background timers,
   * so with an AtomicQueuesTestingModule this returns at once even while jobs are pending. To run JOBS until
   * none is pending, call `harness.runUntilIdle()`.
   * Throws, listing the pending timers, if that needs more than `maxMs` of clock time or `maxSteps` callbacks.
   */
  async runForegroundTimers(options: RunForegroundTimersOptions = {}): Promise<void> {
    const maxMs = options.maxMs ?? 3_600_000;
    const maxSteps = options.maxSteps ?? 100_000;
    const deadline = this.current + maxMs;
    await this.settle();
    for (let steps = 0; ; steps++) {
      const next = this.earliest((e) => !e.unref);
      if (!next) return;
      if (next.due > deadline || steps >= maxSteps) {
        throw new Error(
          `TestClock.runForegroundTimers: foreground timers left after ${steps} steps / ${maxMs} ms of clock time ` +
            `(options.maxMs=${maxMs}, options.maxSteps=${maxSteps}); pending timers: ${this.describePending()}`,
        );
      }
      await this.advanceTo(next.due);
    }
  }

  private describePending(): string {
    return JSON.stringify(this.pending().filter((p) => !p.unref).slice(0, 10));
  }

  private schedule(fn: () => void, ms: number, interval: number | undefined, options: TestTimerOptions): ClockTimer {
    if (typeof fn !== 'function') throw new Error('TestClock: timer callback must be a function');
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const id = this.nextId++;
    this.timers.set(id, { id, seq: this.nextSeq++, due: this.current + delay, fn, interval, unref: !!options.unref, label: options.label });
    return { ref: id };
  }

  private fire(entry: Entry): void {
    this.current = Math.max(this.current, entry.due);
    if (entry.interval !== undefined) {
      entry.due += entry.interval;
      entry.seq = this.nextSeq++;
    } else {
      this.timers.delete(entry.id);
    }
    entry.fn();
  }

  private earliest(filter: (e: Entry) => boolean): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.timers.values()) {
      if (!filter(e)) continue;
      if (!best || e.due < best.due || (e.due === best.due && e.seq < best.seq)) best = e;
    }
    return best;
  }

  private sorted(): Entry[] {
    return [...this.timers.values()].sort((a, b) => a.due - b.due || a.seq - b.seq);
  }
}
