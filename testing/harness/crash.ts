import { ConnectionClosedError, type Worker } from 'bullmq';
import type { Clock, ClockTimer } from '../../src/ports/clock.js';
import type { WorkerManagerService } from '../../src/workers/worker-manager.service.js';
import { AtomicQueuesHarnessError } from './errors.js';

/** The parts of WorkerManagerService's private state a simulated crash needs (kept in one place on purpose). */
interface ManagedWorkerInternals {
  name: string;
  /** The node-scheduled stalled check of the worker (NodeStallChecks, single Redis), when running. */
  stallTimer?: ClockTimer;
  forced?: boolean;
  worker: Worker;
}
interface WorkerManagerInternals {
  workers: Map<string, ManagedWorkerInternals>;
  clock: Clock;
}

/** Backend methods a dead connection still answers (identity and teardown only). */
const KEPT = new Set(['constructor', 'close', 'disconnect', 'disconnectBlocking', 'toKey', 'parseNodeKey', 'clientName']);

function internalsOf(manager: WorkerManagerService): WorkerManagerInternals {
  const internals = manager as unknown as Partial<WorkerManagerInternals>;
  if (!(internals.workers instanceof Map) || typeof internals.clock?.clear !== 'function') {
    throw new AtomicQueuesHarnessError(
      'crashWorker: WorkerManagerService no longer has the private `workers` map / `clock` this simulation relies on; update testing/harness/crash.ts',
    );
  }
  return internals as WorkerManagerInternals;
}

/** Every later call on the backend fails like a dropped connection; nothing reaches the store any more. */
function sever(backend: object): void {
  for (let proto = Object.getPrototypeOf(backend); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.prototype.hasOwnProperty.call(proto, 'emit') && Object.prototype.hasOwnProperty.call(proto, 'on')) break; // EventEmitter
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (KEPT.has(key) || Object.prototype.hasOwnProperty.call(backend, key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (typeof descriptor?.value !== 'function') continue;
      Object.defineProperty(backend, key, { value: () => Promise.reject(new ConnectionClosedError()), configurable: true, writable: true });
    }
  }
}

/**
 * Simulates the death of the node process for one local worker: its heartbeat refresh stops (the key expires on
 * the clock), its BullMQ worker neither fetches nor finishes anything again (its in-flight job keeps its lock until
 * the lock expires, then a live worker recovers it as stalled), nothing is released or re-indexed, and the service
 * forgets the worker so a replacement of the same name can be created on this node once the heartbeat is gone.
 * Late lifecycle events of the dead worker's processor carry `incarnation` as their workerName.
 */
export async function crashLocalWorker(manager: WorkerManagerService, workerName: string, incarnation: string): Promise<void> {
  const internals = internalsOf(manager);
  const managed = internals.workers.get(workerName);
  if (!managed) {
    const local = [...internals.workers.keys()];
    throw new AtomicQueuesHarnessError(`crashWorker('${workerName}'): no live worker of that name on this node; live workers: ${local.join(', ') || 'none'}`);
  }
  // Its heartbeat is refreshed by the node's batch, which reads the workers map: removing it below stops that.
  internals.clock.clear(managed.stallTimer);
  managed.stallTimer = undefined;
  managed.forced = true; // an in-place retry waiting in its backoff gives up instead of running again
  managed.name = incarnation;
  internals.workers.delete(workerName);

  const worker = managed.worker;
  const backend = (worker as unknown as { backend?: { close(force?: boolean): Promise<void> } }).backend;
  if (!backend || typeof backend.close !== 'function') {
    throw new AtomicQueuesHarnessError('crashWorker: the BullMQ Worker has no `backend` (BullMQ 6 internals changed); update testing/harness/crash.ts');
  }
  // A dead process reports nothing: drop the service's listeners (errors, completed/failed) of this worker.
  worker.removeAllListeners();
  worker.on('error', () => undefined);
  const stopped = backend.close(true); // clears the backend's clock timers (lock renewal, stalled check), wakes its blocked fetch
  sever(backend);
  // Sets worker.closing before the woken fetch looks at it (so BullMQ does not retry on a real-time delay).
  void worker.close(true).catch(() => undefined);
  await stopped;
}
