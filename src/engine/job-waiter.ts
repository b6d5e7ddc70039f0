import { ConnectionClosedError } from 'bullmq';
import type { Clock, ClockTimer } from '../ports/clock.js';

/** Outcome of one wait: a wake-up (work may be there) or the block timeout. */
export type WaitOutcome = 'woken' | 'timeout';

export interface JobWaiterHooks {
  /**
   * Called when the worker has been idle (waiting, no job since) for `idleReleaseMs`. Returns true when the
   * worker was released (the pending wait is then cut with ConnectionClosedError by `cancel()`), false to keep
   * serving the entity (the wait resolves as woken, so the worker fetches again).
   */
  onIdle(): Promise<boolean>;
}

/**
 * The "blocking connection" of one entity worker, served in-process. BullMQ's Worker calls `waitForJob` when its
 * queue is drained; instead of a `BZPOPMIN` on a connection of its own, it waits here until the node wakes it
 * (a job was added through the module on any node, a stalled job was recovered) or its block timeout passes
 * (then it polls its queue once, which also promotes due delayed jobs). Connections no longer grow with entities.
 *
 * No wake-up is lost: a wake that arrives while the worker is busy (not waiting) is remembered and the next
 * wait returns at once. While an idle release is deciding, wake-ups are held back: the release itself
 * re-checks the queue after dropping the heartbeat, so a job added meanwhile is either seen by it or claimed by
 * whichever node handles the add's ready signal.
 */
export class JobWaiter {
  private pending?: { resolve(o: WaitOutcome): void; reject(e: Error): void; timer?: ClockTimer };
  private wokenWhileBusy = false;
  private idleSince?: number;
  private releasing = false;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly label: string,
    /** 0 = never released for idleness (workers created outside the dispatcher/cron keep running). */
    private readonly idleReleaseMs: number,
    private readonly hooks: JobWaiterHooks,
  ) {}

  /** True while the worker waits for work (drained). */
  get isWaiting(): boolean {
    return this.pending !== undefined;
  }

  /** True while waiting and eligible for an idle release. */
  get isIdle(): boolean {
    return this.pending !== undefined && this.idleReleaseMs > 0 && !this.releasing;
  }

  get isReleasing(): boolean {
    return this.releasing;
  }

  /** Serving its entity: a wake-up will make it fetch (not closed, no release deciding). */
  get isOpen(): boolean {
    return !this.closed && !this.releasing;
  }

  /** The worker took a job: it is busy again. */
  markBusy(): void {
    this.idleSince = undefined;
  }

  /** BullMQ's `waitForJob(blockTimeout)`: resolves 'woken' or 'timeout'; rejects ConnectionClosedError on cancel. */
  wait(timeoutMs: number): Promise<WaitOutcome> {
    if (this.closed) return Promise.reject(new ConnectionClosedError());
    if (this.wokenWhileBusy) {
      this.wokenWhileBusy = false;
      return Promise.resolve('woken');
    }
    this.pending?.resolve('woken');
    const now = this.clock.now();
    this.idleSince ??= now;
    return new Promise<WaitOutcome>((resolve, reject) => {
      const entry: NonNullable<JobWaiter['pending']> = {
        resolve: (o) => this.settle(entry, () => resolve(o)),
        reject: (e) => this.settle(entry, () => reject(e)),
      };
      this.pending = entry;
      const idleLeft = this.idleReleaseMs > 0 ? Math.max(0, this.idleSince! + this.idleReleaseMs - now) : Infinity;
      const ms = Math.max(0, Math.min(timeoutMs, idleLeft));
      entry.timer = this.clock.setTimeout(() => void this.onTimer(entry), ms, { unref: true, label: `${this.label} wait` });
    });
  }

  /** Work may be there: end the current wait (or make the next one return at once). */
  wake(): void {
    if (this.closed) return;
    if (this.pending && !this.releasing) this.pending.resolve('woken');
    else this.wokenWhileBusy = true;
  }

  /**
   * Release now if idle (the node needs the slot for another entity). Returns the release outcome, or false
   * when the worker is not idle.
   */
  releaseIfIdle(): Promise<boolean> {
    const entry = this.pending;
    if (!entry || this.idleReleaseMs <= 0 || this.releasing) return Promise.resolve(false);
    return this.release(entry);
  }

  /** Cuts the pending wait (the worker is closing), like disconnecting a blocking connection. */
  cancel(): void {
    this.pending?.reject(new ConnectionClosedError());
  }

  /** No more waits: every later `wait` rejects. */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  private settle(entry: NonNullable<JobWaiter['pending']>, done: () => void): void {
    if (this.pending !== entry) return;
    this.pending = undefined;
    this.clock.clear(entry.timer);
    done();
  }

  private async onTimer(entry: NonNullable<JobWaiter['pending']>): Promise<void> {
    if (this.pending !== entry) return;
    const idleFor = this.clock.now() - (this.idleSince ?? this.clock.now());
    if (this.idleReleaseMs > 0 && idleFor >= this.idleReleaseMs && !this.releasing) {
      await this.release(entry);
      return;
    }
    entry.resolve('timeout');
  }

  private async release(entry: NonNullable<JobWaiter['pending']>): Promise<boolean> {
    this.releasing = true;
    let released = false;
    try {
      released = await this.hooks.onIdle();
    } catch {
      released = false;
    } finally {
      this.releasing = false;
    }
    if (released) {
      this.close();
    } else {
      this.wokenWhileBusy = false;
      this.idleSince = this.clock.now();
      entry.resolve('woken');
    }
    return released;
  }
}
