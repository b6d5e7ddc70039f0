import type { Job } from 'bullmq';

/** An entity as the observer reports it. */
export interface ObservedEntity {
  entityType: string;
  entityId: string;
}

/** An add about to happen (QueueManagerService). */
export interface EnqueueInfo {
  queueName: string;
  jobName: string;
  /** Undefined for a plain queue. */
  entity?: ObservedEntity;
}

/** One attempt of a job about to run (WorkerManagerService, in-place retries included). */
export interface AttemptInfo {
  job: Job;
  queueName: string;
  entity?: ObservedEntity;
  workerName: string;
  nodeId: string;
  /** 1-based. */
  attempt: number;
  maxAttempts: number;
}

/**
 * Extra job options an add carries for the observer: BullMQ's own trace-context field (`opts.telemetry.metadata`,
 * stored with the job), so the processor's attempts continue the producer's trace. Empty when there is nothing
 * to carry (telemetry off, or the caller set `opts.telemetry` itself).
 */
export interface EnqueueCarrier {
  telemetry?: { metadata: string };
}

/**
 * The module's one observation port: the services report what they do here, never to a telemetry library. The
 * module binds the OpenTelemetry implementation (src/telemetry/otel-observer.ts) when `telemetry` is enabled,
 * else {@link NOOP_OBSERVER}.
 */
export interface AtomicQueuesObserver {
  /** Runs one add (index, add, wake-up) as an enqueue: `add` gets the options to merge into the job's. */
  enqueue<R extends { id: string }>(info: EnqueueInfo, add: (carrier: EnqueueCarrier) => Promise<R>): Promise<R>;
  /** Runs one attempt of a job (the processor call) inside its span; rethrows what the processor threw. */
  attempt<R>(info: AttemptInfo, run: () => Promise<R> | R): Promise<R>;
  /** A worker of this node lost its heartbeat (expired, or another owner holds it): it closes. */
  heartbeatLost(workerName: string, entity: ObservedEntity | undefined): void;
  /** This node's lease reaper took over entities whose owner was dead. */
  takenOver(entities: readonly ObservedEntity[]): void;
  /** A fencing token was found stale (checkFencingToken false, applyIfCurrent not applied). */
  fencingRejected(resourceType: string): void;
}

/** Observes nothing: the module's observer without telemetry (and the default of services built by hand). */
export const NOOP_OBSERVER: AtomicQueuesObserver = Object.freeze({
  enqueue: <R>(_info: EnqueueInfo, add: (carrier: EnqueueCarrier) => Promise<R>) => add({}),
  attempt: async <R>(_info: AttemptInfo, run: () => Promise<R> | R) => run(),
  heartbeatLost: () => undefined,
  takenOver: () => undefined,
  fencingRejected: () => undefined,
});

/** Injection token of the module's AtomicQueuesObserver. */
export const ATOMIC_QUEUES_OBSERVER = Symbol.for('@nestjs/atomic-queues:observer');
