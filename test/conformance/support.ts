import type { QueueEvents, Worker } from 'bullmq';
import type { BackendWorld } from './backends.js';

/** One QueueEvents event as a user's listener sees it: its name and its payload without the stream id. */
export interface SeenEvent {
  event: string;
  args: Record<string, unknown>;
}

/**
 * A running QueueEvents of `queue` that reads the stream from its start (`lastEventId: '0-0'`: every test has a
 * fresh prefix, so nothing is missed on either backend, whatever the timing of its first read) and records the
 * given events in order.
 */
export async function recordQueueEvents(w: BackendWorld, queue: string, events: readonly string[]): Promise<{ qe: QueueEvents; seen: SeenEvent[] }> {
  const qe = w.queueEvents(queue, { lastEventId: '0-0' });
  const seen: SeenEvent[] = [];
  for (const event of events) {
    (qe as unknown as { on(e: string, l: (args: unknown) => void): void }).on(event, (args: unknown) => {
      const copy = typeof args === 'object' && args !== null ? { ...(args as Record<string, unknown>) } : {};
      seen.push({ event, args: copy });
    });
  }
  await qe.waitUntilReady();
  return { qe, seen };
}

/** Payload fields whose values are clock timestamps (differ between runs): shown as `*`. */
const TIMESTAMPS = new Set(['delay']);

/**
 * The events of one job, as `event:key=value,...` strings (keys sorted; timestamps as `*`), for readable
 * assertions.
 */
export function eventsOf(seen: readonly SeenEvent[], jobId?: string): string[] {
  return seen
    .filter((e) => jobId === undefined || e.args.jobId === jobId)
    .map((e) => {
      const { jobId: _id, ...rest } = e.args;
      const fields = Object.keys(rest)
        .sort()
        .map((k) => `${k}=${TIMESTAMPS.has(k) ? '*' : String(rest[k])}`);
      return fields.length ? `${e.event}:${fields.join(',')}` : e.event;
    });
}

/** Records a Worker's events (name and the job id or first argument). */
export function recordWorkerEvents(worker: Worker, events: readonly string[]): string[] {
  const seen: string[] = [];
  for (const event of events) {
    (worker as unknown as { on(e: string, l: (...args: unknown[]) => void): void }).on(event, (...args: unknown[]) => {
      const first = args[0] as { id?: string } | string | undefined;
      const id = typeof first === 'object' && first !== null ? first.id : first;
      seen.push(id === undefined ? event : `${event}:${String(id)}`);
    });
  }
  return seen;
}

/** A promise and its resolver, to hold a processor until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
