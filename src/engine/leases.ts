import type { EntityRef } from './engine-signals.service.js';

/** Lease member of an entity worker: `${entityType}:${entityId} ${workerName}` (no part contains a space). */
export const leaseMember = (entity: EntityRef, workerName: string): string => `${entity.entityType}:${entity.entityId} ${workerName}`;

/** Parses a ready-signal message `${entityType}:${entityId}`; undefined when malformed. */
export function parseEntityRef(message: string): EntityRef | undefined {
  const colon = message.indexOf(':');
  if (colon <= 0 || colon === message.length - 1) return undefined;
  return { entityType: message.slice(0, colon), entityId: message.slice(colon + 1) };
}
