import { describe, expect, it } from 'vitest';
import { AtomicQueuesValidationError } from '../../src/errors.js';
import { assertEntity, assertJsonSerializable, MAX_ENTITY_PART_LENGTH } from '../../src/validation.js';

function validationError(fn: () => void): AtomicQueuesValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AtomicQueuesValidationError);
    return err as AtomicQueuesValidationError;
  }
  throw new Error('accepted invalid input');
}

describe('entity type/id rules', () => {
  it.each([
    ['entityType', '', 'x', /must not be empty/],
    ['entityId', 'order', '', /must not be empty/],
    ['entityId', 'order', 'a'.repeat(MAX_ENTITY_PART_LENGTH + 1), /at most 256 characters \(has 257\)/],
    ['entityType', 'or:der', '1', /':'.*found ":" at index 2/],
    ['entityId', 'order', 'a{b', /'\{'/],
    ['entityId', 'order', 'a}b', /found "}"/],
    ['entityId', 'order', 'a b', /whitespace/],
    ['entityId', 'order', 'a\tb', /found "\\t"/],
    ['entityId', 'order', 'a\u0000b', /control characters/],
    ['entityId', 'order', 'a\nb', /found "\\n"/],
    ['entityType', 42, '1', /must be a string/],
  ] as const)('%s %j/%j', (argument, type, id, rule) => {
    const err = validationError(() => assertEntity(type, id));
    expect(err.argument).toBe(argument);
    expect(err.message).toMatch(rule);
    expect(err.message).toContain(argument);
  });

  it('accepts 256 characters, dashes, dots, unicode', () => {
    expect(() => assertEntity('order', 'a'.repeat(256))).not.toThrow();
    expect(() => assertEntity('user-profile', 'é-42.x_y')).not.toThrow();
  });
});

describe('job data must be JSON-serializable', () => {
  it.each([
    [undefined, 'data', /undefined/],
    [() => 1, 'data', /function/],
    [{ a: 1n }, 'data.a', /bigint/],
    [{ a: [1, Number.NaN] }, 'data.a[1]', /NaN/],
    [{ m: new Map() }, 'data.m', /plain objects.*Map/],
    [{ s: Symbol('x') }, 'data.s', /symbol/],
  ])('rejects %s at %s', (data, path, rule) => {
    const err = validationError(() => assertJsonSerializable('data', data));
    expect(err.argument).toBe(path);
    expect(err.message).toMatch(rule);
  });

  it('rejects circular data', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(validationError(() => assertJsonSerializable('data', a)).message).toMatch(/circular/);
  });

  it('accepts JSON values, Dates (toJSON), null, nested arrays, and shared (non-circular) references', () => {
    const shared = { x: 1 };
    for (const ok of [null, 0, 'x', true, [1, [2, { a: null }]], { d: new Date(0) }, { a: shared, b: shared }, { u: undefined }]) {
      expect(() => assertJsonSerializable('data', ok)).not.toThrow();
    }
  });
});
