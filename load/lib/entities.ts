/**
 * Entity selection and per-entity sequence numbering for load producers (k6 VUs, autocannon connections).
 *
 * FIFO can only be checked if every entity has exactly one serial producer: each producer ("owner") gets a
 * disjoint slice of the entities and sends one request at a time, so the order of its sequence numbers is
 * the order of the acknowledged enqueues. Leaf module (no imports): k6 loads it as-is.
 */

export interface EntitySliceOptions {
  /** Entity id prefix, unique per run (keeps runs apart in one Redis). */
  prefix: string;
  /** Total number of entities over all owners. */
  entities: number;
  /** Number of serial producers sharing the entities. */
  owners: number;
}

function requirePositiveInt(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${field} must be a positive integer, got ${String(value)}`);
  }
}

/** Id of entity number `index` (0-based). */
export function entityId(prefix: string, index: number): string {
  return `${prefix}${index}`;
}

/** Entities owned by producer `owner` (0-based): every index i with i % owners === owner. */
export function ownedEntities(options: EntitySliceOptions, owner: number): string[] {
  requirePositiveInt('entities', options.entities);
  requirePositiveInt('owners', options.owners);
  if (!Number.isInteger(owner) || owner < 0 || owner >= options.owners) {
    throw new Error(`owner must be an integer in [0, ${options.owners - 1}], got ${String(owner)}`);
  }
  const ids: string[] = [];
  for (let i = owner; i < options.entities; i += options.owners) ids.push(entityId(options.prefix, i));
  return ids;
}

export interface NextJob {
  entityId: string;
  seq: number;
}

/**
 * One serial producer: hands out its entities round-robin, each with its own gap-free sequence 0, 1, 2, ….
 * An owner with no entity (more owners than entities) returns `undefined`.
 */
export class EntityCursor {
  private readonly ids: string[];
  private readonly seqs = new Map<string, number>();
  private position = 0;

  constructor(options: EntitySliceOptions, owner: number) {
    this.ids = ownedEntities(options, owner);
  }

  get size(): number {
    return this.ids.length;
  }

  next(): NextJob | undefined {
    if (this.ids.length === 0) return undefined;
    const id = this.ids[this.position % this.ids.length]!;
    this.position += 1;
    return { entityId: id, seq: this.nextSeq(id) };
  }

  /** Next sequence number of one entity (for producers that choose the entity themselves). */
  nextSeq(id: string): number {
    const seq = this.seqs.get(id) ?? 0;
    this.seqs.set(id, seq + 1);
    return seq;
  }

  /** Jobs handed out so far per entity. */
  counts(): Record<string, number> {
    return Object.fromEntries(this.seqs);
  }
}
