import { AtomicQueuesValidationError } from './errors.js';

export const MAX_ENTITY_PART_LENGTH = 256;
// ':' separates key parts, '{' '}' are Redis Cluster hash tags, whitespace/control characters break names.
const FORBIDDEN = /[:{}\s\x00-\x1f\x7f]/u;
// Room for every name derived from an entity (`${type}-${id}-worker`: 2 × 256 + 8) with margin.
const MAX_NAME_LENGTH = 1024;
const NAME_FORBIDDEN = /[\s\x00-\x1f\x7f]/u;

/**
 * Entity types and ids: non-empty strings of at most 256 characters without ':', '{', '}', whitespace or
 * control characters. Throws AtomicQueuesValidationError naming the argument and the rule.
 */
export function assertEntityPart(argument: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new AtomicQueuesValidationError(argument, 'must be a string', value);
  if (value.length === 0) throw new AtomicQueuesValidationError(argument, 'must not be empty', value);
  if (value.length > MAX_ENTITY_PART_LENGTH) {
    throw new AtomicQueuesValidationError(argument, `must be at most ${MAX_ENTITY_PART_LENGTH} characters (has ${value.length})`, value);
  }
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    throw new AtomicQueuesValidationError(argument, `must not contain ':', '{', '}', whitespace or control characters (found ${JSON.stringify(bad[0])} at index ${bad.index})`, value);
  }
}

export function assertEntity(entityType: unknown, entityId: unknown): void {
  assertEntityPart('entityType', entityType);
  assertEntityPart('entityId', entityId);
}

export function assertNonEmptyString(argument: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw new AtomicQueuesValidationError(argument, 'must be a non-empty string', value);
}

/** Names used inside Redis keys/channels (queue and worker names): non-empty, no whitespace or control characters. */
export function assertName(argument: string, value: unknown): asserts value is string {
  assertNonEmptyString(argument, value);
  if (NAME_FORBIDDEN.test(value) || value.length > MAX_NAME_LENGTH) {
    throw new AtomicQueuesValidationError(argument, `must be at most ${MAX_NAME_LENGTH} characters without whitespace or control characters`, value);
  }
}

/** Job data must survive JSON round-tripping (BullMQ stores it as JSON). */
export function assertJsonSerializable(argument: string, value: unknown): void {
  const seen = new Set<unknown>();
  const walk = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new AtomicQueuesValidationError(path, 'must be JSON-serializable (NaN/Infinity are not)', v);
        return;
      case 'undefined':
        if (path === argument) throw new AtomicQueuesValidationError(path, 'must be JSON-serializable (undefined is not; use null or {})', v);
        return;
      case 'bigint':
      case 'function':
      case 'symbol':
        throw new AtomicQueuesValidationError(path, `must be JSON-serializable (${typeof v} is not)`, v);
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) throw new AtomicQueuesValidationError(path, 'must be JSON-serializable (circular reference)', v);
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return;
        const proto = Object.getPrototypeOf(v);
        if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) {
          throw new AtomicQueuesValidationError(path, `must be JSON-serializable (plain objects and arrays only, got ${proto?.constructor?.name ?? 'object'})`, v);
        }
        seen.add(v);
        if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
        else for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
        seen.delete(v);
        return;
      }
    }
  };
  walk(value, argument);
}

/** Integers in [1, max] (TTLs, counts, intervals). */
export function assertPositiveInteger(argument: string, value: unknown, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new AtomicQueuesValidationError(argument, `must be an integer in [1, ${max}]`, value);
  }
}

