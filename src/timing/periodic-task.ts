import type { Clock, ClockTimer } from '../ports/clock.js';
import { assertPositiveInteger } from '../validation.js';

/**
 * A task run every `intervalMs` on the Clock port, never overlapping itself: the next run is scheduled when the
 * previous one has finished (the first one `intervalMs` after `start`), and a manual `run()` joins a run in
 * progress. The cron's ticks and the index sweeps use it.
 */
export class PeriodicTask<T> {
  private intervalMs?: number;
  private timer?: ClockTimer;
  private inFlight?: Promise<T>;

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

  /** Runs every `intervalMs`; calling it again while running changes the period from the next run on. */
  start(intervalMs: number): void {
    assertPositiveInteger('intervalMs', intervalMs);
    const wasRunning = this.isRunning;
    this.intervalMs = intervalMs;
    if (!wasRunning) this.schedule();
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
    this.inFlight ??= this.task().finally(() => {
      this.inFlight = undefined;
    });
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
