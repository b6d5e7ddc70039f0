import { AtomicQueuesConfigError, AtomicQueuesValidationError } from './errors.js';

/**
 * One set of value rules for everything the module validates: service arguments and configuration alike. The
 * caller chooses the error class: {@link argumentRules} throw AtomicQueuesValidationError (a bad argument of a
 * call, e.g. `createWorker({ config })`), {@link configRules} throw AtomicQueuesConfigError (bad module
 * configuration at bootstrap). `path` names the argument or field; the rule texts are the same for both.
 */
export interface ValidationRules {
  fail(path: string, rule: string, value: unknown): never;
  /** An integer in [min, max]. */
  integer(path: string, value: unknown, min: number, max?: number): number;
  /** A finite number > 0. */
  positiveNumber(path: string, value: unknown): number;
  nonEmptyString(path: string, value: unknown): string;
  /** A plain object, or undefined when `value` is undefined. */
  object(path: string, value: unknown): Record<string, unknown> | undefined;
  /** Every key of `obj` is one of `allowed` (the error lists them). */
  knownKeys(path: string, obj: Record<string, unknown>, allowed: readonly string[]): void;
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function validationRules(error: (path: string, rule: string, value: unknown) => Error): ValidationRules {
  const fail = (path: string, rule: string, value: unknown): never => {
    throw error(path, rule, value);
  };
  return {
    fail,
    integer(path, value, min, max = Number.MAX_SAFE_INTEGER) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) return fail(path, `must be an integer in [${min}, ${max}]`, value);
      return value;
    },
    positiveNumber(path, value) {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return fail(path, 'must be a finite number > 0', value);
      return value;
    },
    nonEmptyString(path, value) {
      if (typeof value !== 'string' || value.length === 0) return fail(path, 'must be a non-empty string', value);
      return value;
    },
    object(path, value) {
      if (value === undefined) return undefined;
      if (!isPlainObject(value)) return fail(path, 'must be an object', value);
      return value;
    },
    knownKeys(path, obj, allowed) {
      for (const key of Object.keys(obj)) {
        if (!allowed.includes(key)) fail(`${path ? `${path}.` : ''}${key}`, `is not a known option; accepted: ${allowed.join(', ')}`, obj[key]);
      }
    },
  };
}

/** Rules that throw AtomicQueuesValidationError (service arguments). */
export const argumentRules: ValidationRules = validationRules((path, rule, value) => new AtomicQueuesValidationError(path, rule, value));
/** Rules that throw AtomicQueuesConfigError (module configuration). */
export const configRules: ValidationRules = validationRules((path, rule, value) => new AtomicQueuesConfigError(path, rule, value));

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
  argumentRules.nonEmptyString(argument, value);
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
  argumentRules.integer(argument, value, 1, max);
}

