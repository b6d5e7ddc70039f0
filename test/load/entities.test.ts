import { describe, expect, it } from 'vitest';
import { EntityCursor, ownedEntities } from '../../load/lib/entities.js';

describe('entity slices', () => {
  it('partitions the entities among owners: disjoint and complete', () => {
    const options = { prefix: 'r1-e', entities: 10, owners: 3 };
    const slices = [0, 1, 2].map((o) => ownedEntities(options, o));
    expect(slices[0]).toEqual(['r1-e0', 'r1-e3', 'r1-e6', 'r1-e9']);
    const all = slices.flat();
    expect(new Set(all).size).toBe(10);
    expect(all.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r1-e${i}`).sort());
  });

  it('gives owners beyond the entity count nothing', () => {
    const cursor = new EntityCursor({ prefix: 'x', entities: 2, owners: 4 }, 3);
    expect(cursor.size).toBe(0);
    expect(cursor.next()).toBeUndefined();
  });

  it('rejects bad options naming the field', () => {
    expect(() => ownedEntities({ prefix: 'x', entities: 0, owners: 1 }, 0)).toThrow(/entities must be a positive integer, got 0/);
    expect(() => ownedEntities({ prefix: 'x', entities: 5, owners: 1.5 }, 0)).toThrow(/owners must be a positive integer/);
    expect(() => ownedEntities({ prefix: 'x', entities: 5, owners: 2 }, 2)).toThrow(/owner must be an integer in \[0, 1\], got 2/);
  });
});

describe('EntityCursor', () => {
  it('round-robins its entities with gap-free per-entity sequences', () => {
    const cursor = new EntityCursor({ prefix: 'e', entities: 6, owners: 2 }, 1);
    const jobs = Array.from({ length: 7 }, () => cursor.next()!);
    expect(jobs.map((j) => `${j.entityId}#${j.seq}`)).toEqual(['e1#0', 'e3#0', 'e5#0', 'e1#1', 'e3#1', 'e5#1', 'e1#2']);
    expect(cursor.counts()).toEqual({ e1: 3, e3: 2, e5: 2 });
  });

  it('numbers each entity independently when the producer picks entities itself', () => {
    const cursor = new EntityCursor({ prefix: 'e', entities: 1, owners: 1 }, 0);
    expect([cursor.nextSeq('hot'), cursor.nextSeq('other'), cursor.nextSeq('hot'), cursor.nextSeq('hot')]).toEqual([0, 0, 1, 2]);
  });
});
