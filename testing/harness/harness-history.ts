import type { JobLifecycleEvent } from '../../src/workers/worker.types.js';
import type { StoreAddedJob, StoreRemoval } from '../backend/in-memory-store.js';
import { entityKey, type EnqueuedJob, type JobExecution } from '../history.js';
import type { EntityRef } from '../property/streams.js';
import { HistoryAssembler } from '../recorder/assembler.js';
import { lineFromEvent, type JobIdentity, type RecordableJobEvent } from '../recorder/events.js';

/** Entity type given to jobs of plain (non-entity) queues; their entityId is the queue name. */
export const PLAIN_QUEUE_ENTITY_TYPE = '(queue)';

type Entry = { kind: 'event'; event: RecordableJobEvent } | { kind: 'crash'; nodeId: string; workerName: string };

interface Add {
  queueName: string;
  job: StoreAddedJob;
}

const jobKey = (queueName: string, jobId: string): string => `${queueName}\u0000${jobId}`;

/** Why a job was added out of line (no FIFO position), or undefined. */
function unorderedReason(job: StoreAddedJob): string | undefined {
  if (job.delay > 0) return `delay ${job.delay}`;
  if (job.priority > 0) return `priority ${job.priority}`;
  return job.lifo ? 'lifo' : undefined;
}

function parseData(data: unknown): Record<string, unknown> {
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as unknown;
    } catch {
      return {};
    }
  }
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
}

/**
 * The harness's ordered log of job adds, removals, lifecycle events and simulated crashes, turned into
 * `EnqueuedJob` / `JobExecution` records (testing/history.ts) on demand. A job's entity is the one its queue was
 * created for (resolved once per queue through QueueManagerService), else `data.entityType/entityId`, else
 * `(queue)/<queueName>`. Its `seq` is its position among the adds of its entity (0, 1, 2, … in the order the
 * store took them; the first add of a jobId counts), so no test has to number its jobs.
 */
export class HarnessHistory {
  private readonly entries: Entry[] = [];
  private readonly adds: Add[] = [];
  /** Jobs deleted through the queue API since their last add, with how. */
  private readonly removed = new Map<string, StoreRemoval>();
  private readonly entities = new Map<string, EntityRef | undefined>();
  private readonly resolving = new Set<Promise<void>>();

  constructor(private readonly lookup: (queueName: string) => Promise<EntityRef | undefined>) {}

  record(event: JobLifecycleEvent): void {
    this.entries.push({ kind: 'event', event });
    this.watch(event.queueName);
  }

  /** A job the store took in (its `added` event), queue name without the key prefix. */
  recordAdd(queueName: string, job: StoreAddedJob): void {
    this.adds.push({ queueName, job });
    this.removed.delete(jobKey(queueName, job.id));
    this.watch(queueName);
  }

  /** Jobs deleted on request through the queue API (the store's `removed` event). */
  recordRemoval(queueName: string, jobIds: readonly string[], how: StoreRemoval): void {
    for (const id of jobIds) this.removed.set(jobKey(queueName, id), how);
  }

  /** How a job was deleted through the queue API after its last add, if it was. */
  removal(queueName: string, jobId: string): StoreRemoval | undefined {
    return this.removed.get(jobKey(queueName, jobId));
  }

  /** Every attempt of `workerName` on `nodeId` still open now ends as 'crashed'. */
  crash(nodeId: string, workerName: string): void {
    this.entries.push({ kind: 'crash', nodeId, workerName });
  }

  /** Resolves once every queue seen so far has its entity looked up. */
  async settled(): Promise<void> {
    while (this.resolving.size > 0) await Promise.all([...this.resolving]);
  }

  /** True when the queue was created for an entity (getOrCreateEntityQueue): the module's guarantees apply. */
  isEntityQueue(queueName: string): boolean {
    return this.entities.get(queueName) !== undefined;
  }

  /** Every add, in the order the store took them, with per-entity `seq` and the queue it went to. */
  enqueued(): EnqueuedJob[] {
    const next = new Map<string, number>();
    const seqOf = new Map<string, number>();
    return this.adds.map(({ queueName, job }) => {
      const entity = this.entityOf(queueName, job.data);
      const key = jobKey(queueName, job.id);
      let seq = seqOf.get(key);
      if (seq === undefined) {
        const ek = entityKey(entity);
        seq = next.get(ek) ?? 0;
        next.set(ek, seq + 1);
        seqOf.set(key, seq);
      }
      const unordered = unorderedReason(job);
      return { ...entity, jobId: job.id, jobName: job.name, queue: queueName, seq, at: job.at, ...(unordered === undefined ? {} : { unordered }) };
    });
  }

  executions(): JobExecution[] {
    const seqOf = new Map<string, number>();
    for (const job of this.enqueued()) {
      const key = jobKey(job.queue!, job.jobId);
      if (!seqOf.has(key)) seqOf.set(key, job.seq);
    }
    const identify = (event: RecordableJobEvent): JobIdentity => {
      const seq = seqOf.get(jobKey(event.queueName, String(event.job.id)));
      return { ...this.entityOf(event.queueName, event.job.data), ...(seq === undefined ? {} : { seq }) };
    };
    const assembler = new HistoryAssembler();
    for (const entry of this.entries) {
      if (entry.kind === 'crash') assembler.crashOpen((e) => e.node === entry.nodeId && e.worker === entry.workerName);
      else assembler.add(lineFromEvent(entry.event, identify));
    }
    return assembler.history('running');
  }

  private watch(queueName: string): void {
    if (this.entities.has(queueName)) return;
    this.entities.set(queueName, undefined);
    const p: Promise<void> = this.lookup(queueName)
      .then((entity) => void this.entities.set(queueName, entity))
      .catch(() => undefined)
      .finally(() => this.resolving.delete(p));
    this.resolving.add(p);
  }

  private entityOf(queueName: string, rawData: unknown): EntityRef {
    const known = this.entities.get(queueName);
    if (known) return { entityType: known.entityType, entityId: known.entityId };
    const data = parseData(rawData);
    if (typeof data.entityType === 'string' && typeof data.entityId === 'string') return { entityType: data.entityType, entityId: data.entityId };
    return { entityType: PLAIN_QUEUE_ENTITY_TYPE, entityId: queueName };
  }
}
