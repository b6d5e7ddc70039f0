import { AtomicQueuesConfigError } from '../errors.js';

/**
 * The validation rules of the config and of per-call job options (internal, not exported by the package).
 * Each throws AtomicQueuesConfigError naming the path; argument checks convert it to AtomicQueuesValidationError.
 */
export const fail = (path: string, rule: string, value: unknown): never => {
  throw new AtomicQueuesConfigError(path, rule, value);
};

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkKeys(path: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) fail(`${path ? `${path}.` : ''}${key}`, `is not a known option; accepted: ${allowed.join(', ')}`, obj[key]);
  }
}

export function objectAt(path: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) return fail(path, 'must be an object', value);
  return value;
}

export function integer(path: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) return fail(path, `must be an integer in [${min}, ${max}]`, value);
  if (value < min || value > max) return fail(path, `must be an integer in [${min}, ${max}]`, value);
  return value;
}

export function positiveNumber(path: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return fail(path, 'must be a finite number > 0', value);
  return value;
}

export function nonEmptyString(path: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) return fail(path, 'must be a non-empty string', value);
  return value;
}

export function boolOrCount(path: string, value: unknown): boolean | number | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return integer(path, value, 0);
}
