import { describe, expect, it } from 'vitest';
import { rangeByIndex, SortedSet } from '../../testing/backend/sorted-set.js';

describe('SortedSet (the in-memory backend ZSET)', () => {
  it('orders by score, ties in insertion order, and re-adding moves a member', () => {
    const s = new SortedSet();
    s.add('b', 2);
    s.add('a', 1);
    s.add('10', 2);
    s.add('9', 2);
    expect(s.members()).toEqual(['a', 'b', '10', '9']);
    s.add('a', 3);
    expect(s.members()).toEqual(['b', '10', '9', 'a']);
    expect([s.size, s.first()]).toEqual([4, { member: 'b', score: 2 }]);
  });

  it('delete reports whether the member was there; upTo includes the bound; clear empties', () => {
    const s = new SortedSet();
    s.add('x', 5);
    s.add('y', 6);
    expect([s.delete('nope'), s.delete('x'), s.has('x'), s.members()]).toEqual([false, true, false, ['y']]);
    s.add('x', 5);
    expect([s.upTo(4), s.upTo(5), s.upTo(6)]).toEqual([[], ['x'], ['x', 'y']]);
    s.clear();
    expect([s.size, s.has('y'), s.first(), s.members()]).toEqual([0, false, undefined, []]);
  });
});

describe('rangeByIndex (LRANGE/ZRANGE indexes)', () => {
  const list = ['a', 'b', 'c', 'd'];
  it.each([
    [0, -1, ['a', 'b', 'c', 'd']],
    [1, 2, ['b', 'c']],
    [-2, -1, ['c', 'd']],
    [-10, 0, ['a']],
    [2, 100, ['c', 'd']],
    [3, 3, ['d']],
    [4, 10, []],
    [2, 1, []],
    [0, -5, []],
    [0, -6, []],
  ])('(%i, %i)', (start, end, expected) => {
    expect(rangeByIndex(list, start, end)).toEqual(expected);
  });
  it('an empty list gives nothing', () => expect(rangeByIndex([], 0, -1)).toEqual([]));
});
