/**
 * Time port. Every timer the module uses (heartbeat refresh, cron ticks, shutdown timeouts) and every
 * "now" it reads goes through a Clock, so the testing entry point can swap in a deterministic clock.
 */
export interface ClockTimer {
  /** Opaque handle owned by the clock implementation. */
  readonly ref: unknown;
}

/**
 * Optional timer hints. `unref: true` marks a background timer (like Node's `unref()`): a deterministic test
 * clock fires it normally but does not wait for it when running "until idle". Wall clocks may ignore them.
 */
export interface ClockTimerOptions {
  unref?: boolean;
  label?: string;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number, options?: ClockTimerOptions): ClockTimer;
  setInterval(fn: () => void, ms: number, options?: ClockTimerOptions): ClockTimer;
  clear(timer: ClockTimer | undefined): void;
  sleep(ms: number): Promise<void>;
}

export const ATOMIC_QUEUES_CLOCK = Symbol.for('@nestjs/atomic-queues:clock');

/** Wall-clock implementation on Node timers. Timers are unref'd so they never keep a process alive. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const ref = setTimeout(fn, ms);
    ref.unref?.();
    return { ref };
  }

  setInterval(fn: () => void, ms: number): ClockTimer {
    const ref = setInterval(fn, ms);
    ref.unref?.();
    return { ref };
  }

  clear(timer: ClockTimer | undefined): void {
    if (timer) clearTimeout(timer.ref as NodeJS.Timeout);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
