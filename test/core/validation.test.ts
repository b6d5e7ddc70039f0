import { describe, expect, it } from 'vitest';
import { AtomicQueuesConfigError, AtomicQueuesValidationError } from '../../src/errors.js';
import { argumentRules, assertEntity, assertJsonSerializable, assertName, assertPositiveInteger, configRules, MAX_ENTITY_PART_LENGTH } from '../../src/validation.js';

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

describe('queue and worker names', () => {
  it.each([
    ['', /non-empty string/],
    [42, /non-empty string/],
    ['a b', /without whitespace or control characters/],
    ['a\u007fb', /without whitespace or control characters/],
    ['a'.repeat(1025), /at most 1024 characters/],
  ] as const)('rejects %j', (name, rule) => {
    const err = validationError(() => assertName('queueName', name));
    expect(err.argument).toBe('queueName');
    expect(err.message).toMatch(rule);
  });

  it('accepts 1024 characters and the characters entity parts may not hold', () => {
    expect(() => assertName('queueName', 'a'.repeat(1024))).not.toThrow();
    expect(() => assertName('queueName', 'order:{42}-queue')).not.toThrow();
  });
});

describe('the shared value rules', () => {
  it('integers: the bounds are inclusive and named, non-integers and non-numbers are refused', () => {
    expect(() => assertPositiveInteger('ttl', 1, 10)).not.toThrow();
    expect(() => assertPositiveInteger('ttl', 10, 10)).not.toThrow();
    for (const bad of [0, 11, 1.5, '5', Number.NaN]) {
      const err = validationError(() => assertPositiveInteger('ttl', bad, 10));
      expect(err.message).toBe(`Invalid ttl: must be an integer in [1, 10] (got ${typeof bad === 'string' ? `"${bad}"` : String(bad)})`);
    }
    expect(validationError(() => assertPositiveInteger('n', 0)).rule).toBe(`must be an integer in [1, ${Number.MAX_SAFE_INTEGER}]`);
  });

  it('positive numbers: finite and > 0', () => {
    expect(argumentRules.positiveNumber('x', 0.001)).toBe(0.001);
    for (const bad of [0, -1, Number.POSITIVE_INFINITY, '1']) {
      expect(validationError(() => argumentRules.positiveNumber('x', bad)).rule).toBe('must be a finite number > 0');
    }
  });

  it('objects: undefined passes through, arrays and null are refused', () => {
    expect(argumentRules.object('o', undefined)).toBeUndefined();
    const o = { a: 1 };
    expect(argumentRules.object('o', o)).toBe(o);
    for (const bad of [null, [], 'x']) expect(validationError(() => argumentRules.object('o', bad)).rule).toBe('must be an object');
  });

  it('known keys: names the key under its path (or alone at the top) and lists the accepted ones', () => {
    expect(() => argumentRules.knownKeys('opts', { a: 1, b: 2 }, ['a', 'b'])).not.toThrow();
    const nested = validationError(() => argumentRules.knownKeys('opts', { a: 1, c: 3 }, ['a', 'b']));
    expect([nested.argument, nested.rule, nested.value]).toEqual(['opts.c', 'is not a known option; accepted: a, b', 3]);
    expect(validationError(() => argumentRules.knownKeys('', { c: 3 }, ['a'])).argument).toBe('c');
  });

  it('configRules throw AtomicQueuesConfigError with the same rule texts', () => {
    expect(() => configRules.integer('x', 0, 1)).toThrow(AtomicQueuesConfigError);
    expect(() => configRules.integer('x', 0, 1)).toThrow('Invalid AtomicQueuesConfig: x must be an integer in [1, ');
  });
});

describe('job data: more shapes', () => {
  it('rejects Infinity and class instances (naming the class), accepts null-prototype objects', () => {
    expect(validationError(() => assertJsonSerializable('data', { n: Number.POSITIVE_INFINITY })).argument).toBe('data.n');
    expect(validationError(() => assertJsonSerializable('data', { n: Number.POSITIVE_INFINITY })).rule).toBe('must be JSON-serializable (NaN/Infinity are not)');
    expect(validationError(() => assertJsonSerializable('data', undefined)).rule).toBe('must be JSON-serializable (undefined is not; use null or {})');
    const orphan = Object.create(Object.create(null) as object) as object;
    expect(validationError(() => assertJsonSerializable('data', { o: orphan })).rule).toBe('must be JSON-serializable (plain objects and arrays only, got object)');
    class Order {}
    expect(validationError(() => assertJsonSerializable('data', { o: new Order() })).message).toMatch(/got Order\)/);
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(() => assertJsonSerializable('data', bare)).not.toThrow();
    expect(validationError(() => assertJsonSerializable('data', Object.assign(Object.create(null) as object, { f: () => 1 }))).argument).toBe('data.f');
  });
});
