import { configRules, isPlainObject } from '../validation.js';

/**
 * The validation rules of the config and of per-call job options (internal, not exported by the package): the
 * shared rules of ../validation.ts bound to AtomicQueuesConfigError (argument checks use `argumentRules`, the
 * same rules throwing AtomicQueuesValidationError, or convert). Each names the path.
 */
export const { fail, integer, positiveNumber, nonEmptyString, object: objectAt, knownKeys: checkKeys } = configRules;
export { isPlainObject };

export function boolOrCount(path: string, value: unknown): boolean | number | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return integer(path, value, 0);
}
