import { keys } from '../config/keys.js';
import { assertEntityPart } from '../validation.js';
import { ownerNode } from '../workers/worker-names.js';
import { serverMs, type CliContext } from './context.js';
import { CliNotFoundError } from './errors.js';

export interface EntityBacklog {
  entityId: string;
  /** Jobs the index counts as not finished. */
  pending: number;
  /** Server time the oldest pending job was indexed (undefined when the index holds no job id for it). */
  oldestPendingAt?: number;
  /** Worker alive for it and its node, if any. */
  worker?: { workerName: string; nodeId: string };
}

export interface EntitiesReport {
  entityType: string;
  keyPrefix: string;
  now: number;
  /** Entities of the type with a backlog. */
  total: number;
  /** The `limit` entities waiting longest (oldest pending job first). */
  entities: EntityBacklog[];
}

/** Keys per pipelined batch when scanning a type's entities. */
const BATCH = 1000;

/** `atomic-queues entities <type>`: entities of the type with pending jobs, the one waiting longest first. */
export async function entityBacklog(ctx: CliContext, entityType: string, limit: number): Promise<EntitiesReport> {
  assertEntityPart('entityType', entityType);
  const { redis, prefix, index } = ctx;
  const types = await index.getEntityTypes();
  if (!types.includes(entityType)) {
    throw new CliNotFoundError(`entity type '${entityType}' not found under key prefix '${prefix}'; known types: ${types.join(', ') || 'none'}`);
  }
  const [time, pending] = await Promise.all([redis.time(), index.getEntitiesWithJobs(entityType)]);
  const ids = Object.keys(pending);
  const oldest = new Map<string, number>();
  for (let i = 0; i < ids.length; i += BATCH) {
    const pipeline = redis.pipeline();
    const chunk = ids.slice(i, i + BATCH);
    for (const id of chunk) pipeline.zrange(keys.indexJobSet(prefix, entityType, id), 0, 0, 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    chunk.forEach((id, j) => {
      const [err, reply] = replies[j] ?? [];
      if (err) throw err;
      const score = (reply as string[])[1];
      if (score !== undefined) oldest.set(id, Number(score));
    });
  }
  const rank = (id: string) => oldest.get(id) ?? Number.POSITIVE_INFINITY;
  const top = ids.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
  const liveWorkers = await liveWorkersOf(ctx, entityType, new Set(top));
  return {
    entityType,
    keyPrefix: prefix,
    now: serverMs(time),
    total: ids.length,
    entities: top.map((entityId) => ({
      entityId,
      pending: pending[entityId]!,
      ...(oldest.has(entityId) ? { oldestPendingAt: oldest.get(entityId)! } : {}),
      ...(liveWorkers.has(entityId) ? { worker: liveWorkers.get(entityId)! } : {}),
    })),
  };
}

/** entityId → its live worker, for the given entities (index states, confirmed by the heartbeat). */
async function liveWorkersOf(ctx: CliContext, entityType: string, entityIds: ReadonlySet<string>): Promise<Map<string, { workerName: string; nodeId: string }>> {
  const { redis, prefix, index } = ctx;
  const states = (await index.getEntityWorkerStates(entityType)).filter((s) => entityIds.has(s.entityId) && s.state !== 'closed');
  const out = new Map<string, { workerName: string; nodeId: string }>();
  for (let i = 0; i < states.length; i += BATCH) {
    const chunk = states.slice(i, i + BATCH);
    const owners = await redis.mget(...chunk.map((s) => keys.heartbeat(prefix, s.workerName)));
    chunk.forEach((s, j) => {
      const owner = owners[j];
      if (owner != null && !out.has(s.entityId)) out.set(s.entityId, { workerName: s.workerName, nodeId: ownerNode(owner) });
    });
  }
  return out;
}
