import type { EntitiesReport } from './backlog.js';
import type { EntityInspection } from './inspect.js';
import type { RetryReport } from './retry-failed.js';

/** A duration for people: 850ms, 3.1s, 2m05s, 1h02m. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return `${sign}${Math.round(a)}ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)}s`;
  const s = Math.floor(a / 1000);
  if (s < 3600) return `${sign}${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${sign}${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

const ago = (now: number, at: number | undefined): string => (at === undefined ? '-' : `${formatDuration(now - at)} ago`);

/** Columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

const oneLine = (s: string, max = 80): string => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export function renderInspection(x: EntityInspection): string {
  const out: string[] = [];
  out.push(`entity   ${x.entityType}/${x.entityId}  (queue ${x.queueName}, key prefix ${x.keyPrefix})`);
  const idx = [x.indexed ? 'indexed' : 'not indexed (retired or never set up)', `${x.pendingJobs} pending`];
  if (x.oldestPendingAt !== undefined) idx.push(`oldest pending indexed ${ago(x.now, x.oldestPendingAt)}`);
  if (x.lastActivityAt !== undefined) idx.push(`last activity ${ago(x.now, x.lastActivityAt)}`);
  idx.push(x.readyAt === undefined ? 'not marked ready' : x.readyAt <= x.now ? `ready since ${formatDuration(x.now - x.readyAt)}` : `ready in ${formatDuration(x.readyAt - x.now)}`);
  out.push(`index    ${idx.join(', ')}`);
  const counts = Object.entries(x.counts).map(([k, v]) => `${k} ${v}`).join('  ');
  out.push(`queue    ${counts}${x.paused ? '  (PAUSED)' : ''}`);
  if (x.workers.length === 0) out.push('workers  none');
  x.workers.forEach((w, i) => {
    const parts = [w.workerName, w.alive ? 'alive' : 'not alive'];
    if (w.state) parts.push(`state ${w.state}`);
    if (w.nodeId) parts.push(`node ${w.nodeId}`);
    if (w.heartbeatTtlMs !== undefined) parts.push(`heartbeat ttl ${formatDuration(w.heartbeatTtlMs)}`);
    if (w.leaseExpiresInMs !== undefined) parts.push(`lease ${w.leaseExpiresInMs >= 0 ? `expires in ${formatDuration(w.leaseExpiresInMs)}` : `expired ${formatDuration(-w.leaseExpiresInMs)} ago`}`);
    out.push(`${i === 0 ? 'workers ' : '        '} ${parts.join(', ')}`);
  });
  const l = x.lock;
  out.push(
    l.held
      ? `lock     held by ${l.ownerId} (${l.ownerType}), fencing token ${l.fencingToken}${l.ttlMs !== undefined ? `, expires in ${formatDuration(l.ttlMs)}` : ''}; latest token ${l.latestFencingToken}`
      : `lock     free; latest fencing token ${l.latestFencingToken}${l.latestFencingToken === 0 ? ' (never locked)' : ''}`,
  );
  if (x.jobs.length === 0) {
    out.push('jobs     none');
  } else {
    out.push(`jobs     last ${x.jobs.length}, oldest first`);
    const rows = x.jobs.map((j) => [
      j.id,
      j.name,
      j.state,
      `${j.attempts}/${j.maxAttempts}${j.retried > 0 ? ` (retried ${j.retried}x)` : ''}`,
      ago(x.now, j.createdAt),
      j.finishedAt !== undefined ? ago(x.now, j.finishedAt) : '-',
      j.errors.map((e, i) => `#${i + 1} ${oneLine(e, 60)}`).join(' | '),
    ]);
    for (const line of table(['ID', 'NAME', 'STATE', 'ATTEMPTS', 'CREATED', 'FINISHED', 'ERRORS'], rows)) out.push(`  ${line}`);
  }
  return out.join('\n');
}

export function renderEntities(r: EntitiesReport): string {
  if (r.total === 0) return `no ${r.entityType} entity has a backlog (key prefix ${r.keyPrefix})`;
  const head = `${r.total} ${r.entityType} entit${r.total === 1 ? 'y has' : 'ies have'} a backlog${r.entities.length < r.total ? `; the ${r.entities.length} waiting longest` : ''}, oldest first (key prefix ${r.keyPrefix})`;
  const rows = r.entities.map((e) => [
    e.entityId,
    String(e.pending),
    e.oldestPendingAt === undefined ? '-' : formatDuration(r.now - e.oldestPendingAt),
    e.worker ? `${e.worker.workerName} on ${e.worker.nodeId}` : '-',
  ]);
  return [head, ...table(['ENTITY', 'PENDING', 'OLDEST', 'WORKER'], rows)].join('\n');
}

export function renderRetry(r: RetryReport): string {
  const out: string[] = [];
  if (r.retried.length === 0 && r.skipped.length === 0) out.push(`no failed job in ${r.queueName}`);
  if (r.retried.length > 0) out.push(`retried ${r.retried.length} failed job${r.retried.length === 1 ? '' : 's'} of ${r.entityType}/${r.entityId} (in this order): ${r.retried.join(', ')}`);
  for (const s of r.skipped) out.push(`skipped ${s.id}: ${oneLine(s.reason)}`);
  return out.join('\n');
}
