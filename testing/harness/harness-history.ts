import type { JobLifecycleEvent } from '../../src/workers/worker.types.js';
import type { JobExecution } from '../history.js';
import type { EntityRef } from '../property/streams.js';
import { HistoryAssembler } from '../recorder/assembler.js';
import { lineFromEvent, type JobIdentity, type RecordableJobEvent } from '../recorder/events.js';

/** Entity type given to jobs of plain (non-entity) queues; their entityId is the queue name. */
export const PLAIN_QUEUE_ENTITY_TYPE = '(queue)';

type Entry = { kind: 'event'; event: RecordableJobEvent } | { kind: 'crash'; nodeId: string; workerName: string };

/**
 * The harness's ordered log of job lifecycle events and simulated crashes, turned into `JobExecution` records
 * (testing/history.ts) on demand. A job's entity is the one its queue was created for (resolved once per queue
 * through QueueManagerService), else `data.entityType/entityId`, else `(queue)/<queueName>`; `seq` is read
 * from `data.seq` when it is an integer.
 */
export class HarnessHistory {
  private readonly entries: Entry[] = [];
  private readonly entities = new Map<string, EntityRef | undefined>();
  private readonly resolving = new Set<Promise<void>>();

  constructor(private readonly lookup: (queueName: string) => Promise<EntityRef | undefined>) {}

  record(event: JobLifecycleEvent): void {
    this.entries.push({ kind: 'event', event });
    if (this.entities.has(event.queueName)) return;
    this.entities.set(event.queueName, undefined);
    const p: Promise<void> = this.lookup(event.queueName)
      .then((entity) => void this.entities.set(event.queueName, entity))
      .catch(() => undefined)
      .finally(() => this.resolving.delete(p));
    this.resolving.add(p);
  }

  /** Every attempt of `workerName` on `nodeId` still open now ends as 'crashed'. */
  crash(nodeId: string, workerName: string): void {
    this.entries.push({ kind: 'crash', nodeId, workerName });
  }

  /** Resolves once every queue seen so far has its entity looked up. */
  async settled(): Promise<void> {
    while (this.resolving.size > 0) await Promise.all([...this.resolving]);
  }

  executions(): JobExecution[] {
    const assembler = new HistoryAssembler();
    for (const entry of this.entries) {
      if (entry.kind === 'crash') assembler.crashOpen((e) => e.node === entry.nodeId && e.worker === entry.workerName);
      else assembler.add(lineFromEvent(entry.event, this.identify));
    }
    return assembler.history('running');
  }

  private readonly identify = (event: RecordableJobEvent): JobIdentity => {
    const data = (typeof event.job.data === 'object' && event.job.data !== null ? event.job.data : {}) as Record<string, unknown>;
    const seq = Number.isInteger(data.seq) ? { seq: data.seq as number } : {};
    const known = this.entities.get(event.queueName);
    if (known) return { ...known, ...seq };
    if (typeof data.entityType === 'string' && typeof data.entityId === 'string') {
      return { entityType: data.entityType, entityId: data.entityId, ...seq };
    }
    return { entityType: PLAIN_QUEUE_ENTITY_TYPE, entityId: event.queueName, ...seq };
  };
}
