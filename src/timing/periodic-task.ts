import type { Clock, ClockTimer } from '../ports/clock.js';
import { assertPositiveInteger } from '../validation.js';

/** What a health check reads of a PeriodicTask (Clock times, ms). */
export interface PeriodicTaskActivity {
  readonly running: boolean;
  /** The period, while running. */
  readonly intervalMs?: number;
  /** When `start` last started the loop. */
  readonly startedAt?: number;
  readonly lastRunStartedAt?: number;
  readonly lastRunEndedAt?: number;
  /** Start of the run in progress, if one is. */
  readonly runningSince?: number;
}

/**
 * A task run every `intervalMs` on the Clock port, never overlapping itself: the next run is scheduled when the
 * previous one has finished (the first one `intervalMs` after `start`), and a manual `run()` joins a run in
 * progress. The cron's ticks and the index sweeps use it.
 */
export class PeriodicTask<T> {
  private intervalMs?: number;
  private timer?: ClockTimer;
  private inFlight?: Promise<T>;
  private times: { -readonly [K in 'startedAt' | 'lastRunStartedAt' | 'lastRunEndedAt' | 'runningSince']?: PeriodicTaskActivity[K] } = {};

  constructor(
    private readonly clock: Clock,
    private readonly label: string,
    private readonly task: () => Promise<T>,
  ) {}

  get isRunning(): boolean {
    return this.intervalMs !== undefined;
  }

  /** The current period, while running. */
  get interval(): number | undefined {
    return this.intervalMs;
  }

  /** Clock times of the loop (health checks): when it started, its last run's start and end, a run in progress. */
  get activity(): PeriodicTaskActivity {
    return { running: this.isRunning, intervalMs: this.intervalMs, ...this.times };
  }

  /** Runs every `intervalMs`; calling it again while running changes the period from the next run on. */
  start(intervalMs: number): void {
    assertPositiveInteger('intervalMs', intervalMs);
    const wasRunning = this.isRunning;
    this.intervalMs = intervalMs;
    if (!wasRunning) {
      this.times.startedAt = this.clock.now();
      this.schedule();
    }
  }

  /** Stops and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.intervalMs = undefined;
    this.clock.clear(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Runs once now, or joins the run in progress. */
  run(): Promise<T> {
    if (!this.inFlight) {
      const now = this.clock.now();
      this.times.lastRunStartedAt = this.times.runningSince = now;
      this.inFlight = this.task().finally(() => {
        this.inFlight = undefined;
        this.times.runningSince = undefined;
        this.times.lastRunEndedAt = this.clock.now();
      });
    }
    return this.inFlight;
  }

  private schedule(): void {
    if (this.intervalMs === undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.run()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer === undefined) this.schedule();
        });
    }, this.intervalMs, { unref: true, label: this.label });
  }
}
