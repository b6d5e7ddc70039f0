/**
 * Minimal sorted set: members ordered by score. Ties are kept in insertion order (Redis orders them
 * lexicographically; with a TestClock many jobs finish in the same millisecond, and insertion order is what
 * Redis shows when their timestamps differ, so '10' does not sort before '9').
 */
export class SortedSet {
  private readonly scores = new Map<string, number>();
  private items: { member: string; score: number }[] = [];

  get size(): number {
    return this.items.length;
  }

  has(member: string): boolean {
    return this.scores.has(member);
  }

  add(member: string, score: number): void {
    this.delete(member);
    this.scores.set(member, score);
    const item = { member, score };
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.items[mid];
      if (m.score <= score) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, item);
  }

  delete(member: string): boolean {
    if (!this.scores.delete(member)) return false;
    this.items = this.items.filter((i) => i.member !== member);
    return true;
  }

  /** Members in ascending score order. */
  members(): string[] {
    return this.items.map((i) => i.member);
  }

  first(): { member: string; score: number } | undefined {
    return this.items[0];
  }

  /** Members with score <= max, ascending. */
  upTo(max: number): string[] {
    const out: string[] = [];
    for (const i of this.items) {
      if (i.score > max) break;
      out.push(i.member);
    }
    return out;
  }

  clear(): void {
    this.scores.clear();
    this.items = [];
  }
}

/** Redis LRANGE/ZRANGE index semantics (negative indexes count from the end, `end` inclusive). */
export function rangeByIndex<T>(list: readonly T[], start: number, end: number): T[] {
  const len = list.length;
  let s = start < 0 ? len + start : start;
  let e = end < 0 ? len + end : end;
  if (s < 0) s = 0;
  if (e >= len) e = len - 1;
  if (s > e || s >= len) return [];
  return list.slice(s, e + 1);
}
