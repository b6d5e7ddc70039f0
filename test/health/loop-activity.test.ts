import { describe, expect, it } from 'vitest';
import { PeriodicTask } from '../../src/timing/periodic-task.js';
import { TestClock } from '../../testing/index.js';

/** What the health checks read of a loop: PeriodicTask's activity follows its runs on the Clock. */
describe('PeriodicTask.activity', () => {
  it('records the start of the loop, each run start and end, and a run in progress', async () => {
    const clock = new TestClock({ start: 0 });
    let release: (() => void) | undefined;
    const task = new PeriodicTask(clock, 'test loop', () => new Promise<void>((r) => (release = r)));
    expect(task.activity).toEqual({ running: false, intervalMs: undefined });

    await clock.advance(100);
    task.start(1000);
    expect(task.activity).toEqual({ running: true, intervalMs: 1000, startedAt: 100 });

    await clock.advance(1000); // first run at 1100, still running
    expect(task.activity).toEqual({ running: true, intervalMs: 1000, startedAt: 100, lastRunStartedAt: 1100, runningSince: 1100 });

    await clock.advance(250);
    release!();
    await clock.advance(0);
    expect(task.activity).toEqual({ running: true, intervalMs: 1000, startedAt: 100, lastRunStartedAt: 1100, lastRunEndedAt: 1350, runningSince: undefined });

    await clock.advance(1000); // next run 1000 ms after the previous one ended
    expect(task.activity).toMatchObject({ lastRunStartedAt: 2350, runningSince: 2350 });
    release!();
    await task.stop();
    expect(task.activity).toMatchObject({ running: false, intervalMs: undefined, lastRunEndedAt: 2350 });
  });
});
