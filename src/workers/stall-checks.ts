import type { Logger } from '@nestjs/common';
import { Worker } from 'bullmq';
import type { Clock, ClockTimer } from '../ports/clock.js';

/** BullMQ's own one-shot stalled-job check (private in its typings; its periodic timer calls it). */
type StallCheckingWorker = { moveStalledJobsToWait(): Promise<void> };

/** True if this BullMQ build exposes the one-shot stalled check the node schedules itself. */
export function nodeCanScheduleStallChecks(): boolean {
  return typeof (Worker.prototype as unknown as Partial<StallCheckingWorker>).moveStalledJobsToWait === 'function';
}

export interface StallCheckTarget {
  readonly name: string;
  readonly queueName: string;
  readonly worker: Worker;
  readonly settings: { readonly stalledInterval: number };
  /** Jobs of this worker inside its processor right now. */
  running: number;
  /** Woken after each check (a recovered job is waiting for it). */
  readonly waiter?: { wake(): void };
  stallTimer?: ClockTimer;
}

/**
 * Runs BullMQ's stalled-job check of local workers on the node's schedule instead of one BullMQ timer (and one
 * script call per `stalledInterval`) per worker. Workers are built with `skipStalledCheck: true`.
 *
 * Why this keeps BullMQ's guarantee (a stalled job is moved back to wait, ahead of later jobs, once its lock
 * has expired and two checks `stalledInterval` apart have seen it):
 * - A worker starts with checks every `stalledInterval`, the first immediately, exactly like BullMQ's timer.
 * - A check can only move a job that sits in the queue's active list without a lock. After every heartbeat
 *   tick the node compares the active-list length (read in the same round trip) with the jobs its own
 *   workers of that queue are running. While the list holds more (a job of a dead or force-closed worker,
 *   or one of ours whose lock lapsed and whose finish failed), checks run every `stalledInterval` as before.
 *   Only when every active job is one a local worker is running right now (its lock is renewed by that
 *   worker) are checks paused; a check then could not move anything whose lock is kept.
 * - Counting errs on the side of checking: a job fetched but not yet handed to the processor, or finished by
 *   the processor but not yet stored, makes the list look longer, which only runs a harmless extra check.
 * - If a tick fails or the active length is unknown, nothing changes (running checks keep running).
 */
export class NodeStallChecks<T extends StallCheckTarget> {
  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Checks now and every `stalledInterval` until `update` finds nothing to recover or `stop`. */
  start(target: T): void {
    this.schedule(target, true);
  }

  stop(target: T): void {
    this.clock.clear(target.stallTimer);
    target.stallTimer = undefined;
  }

  /**
   * After a heartbeat round trip: `activeLengths` maps each refreshed worker to its queue's active-list
   * length (undefined = unknown); `local` are all workers of this node (to count the jobs they run per queue).
   */
  update(activeLengths: ReadonlyArray<{ member: T; watchLength?: number }>, local: Iterable<T>): void {
    const running = new Map<string, number>();
    for (const w of local) running.set(w.queueName, (running.get(w.queueName) ?? 0) + w.running);
    for (const { member, watchLength } of activeLengths) {
      if (watchLength === undefined) continue;
      // Resumed checks start after `stalledInterval`. A job of a worker that died since the last tick keeps its
      // lock for lockDuration, so it is marked long before it can move; a job whose lock had already lapsed
      // (its finish failed) is recovered at most one stalledInterval later than BullMQ's own timer would.
      if (watchLength > (running.get(member.queueName) ?? 0)) this.schedule(member, false);
      else this.stop(member);
    }
  }

  private schedule(target: T, immediately: boolean): void {
    if (target.stallTimer) return;
    target.stallTimer = this.clock.setInterval(() => void this.check(target), target.settings.stalledInterval, {
      unref: true,
      label: `stalled check ${target.name}`,
    });
    if (immediately) void this.check(target);
  }

  private async check(target: T): Promise<void> {
    if (target.worker.closing) return this.stop(target);
    try {
      await (target.worker as unknown as StallCheckingWorker).moveStalledJobsToWait();
      target.waiter?.wake();
    } catch (err) {
      this.logger.warn(`worker ${target.name}: stalled check failed: ${String(err)}`);
    }
  }
}
