import type { Clock, ClockTimer } from '../../src/ports/clock.js';
import { setBackgroundInterval } from '../clock/test-clock.js';

/**
 * The members of a BullMQ 6 Worker that its stalled checker uses (private in BullMQ's typings): the checker loop
 * (`startStalledCheckTimer`, started by `run()`) stores its promise in `stalledCheckerPromise` and calls
 * `moveStalledJobsToWait()`, which asks the backend and emits the Worker's `'stalled'` event per recovered job.
 */
interface WorkerStalledChecker {
  closing?: unknown;
  paused?: boolean;
  stalledCheckerPromise?: Promise<void>;
  moveStalledJobsToWait(): Promise<void>;
  emit(event: 'error', error: unknown): boolean;
}

function isWorker(owner: unknown): owner is WorkerStalledChecker {
  return !!owner && typeof (owner as WorkerStalledChecker).moveStalledJobsToWait === 'function';
}

/**
 * Runs the Worker's OWN stalled check every `stalledInterval` of clock time, so stalled jobs are recovered in
 * the same place as on Redis (the Worker's checker, which emits `'stalled'`), on the test's clock. BullMQ's own
 * loop sleeps on a real `setTimeout(stalledInterval)`, which a TestClock cannot move; both call the same
 * backend check, which is throttled to once per `stalledInterval` of clock time (the `stalled-check` key of
 * moveStalledJobsToWait.lua), so a duplicate call changes nothing. The tick does nothing while the Worker's
 * checker is not running (not started, `skipStalledCheck`, paused or closing), as on Redis.
 * Returns undefined when `owner` is not a Worker.
 */
export function startClockStalledCheck(clock: Clock, owner: unknown, stalledInterval: number, label: string): ClockTimer | undefined {
  if (!isWorker(owner)) return undefined;
  return setBackgroundInterval(
    clock,
    () => {
      if (owner.closing || owner.paused || !owner.stalledCheckerPromise) return;
      owner.moveStalledJobsToWait().catch((error: unknown) => owner.emit('error', error));
    },
    stalledInterval,
    label,
  );
}
