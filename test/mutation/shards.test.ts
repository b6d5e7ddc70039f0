import { existsSync, readdirSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MUTABLE_ROOTS, SHARDS, isMutable, mutateGlobs, runsTest, shardNamed, shardsOf, testGlobs } from '../../mutation/shards.js';

const filesUnder = (dir: string): string[] =>
  (readdirSync(dir, { recursive: true }) as string[]).map((f) => `${dir}${f}`).filter((f) => statSync(f).isFile());

describe('mutation shards', () => {
  it('puts every mutable file of src/ and testing/backend/ in exactly one shard', () => {
    const mutable = MUTABLE_ROOTS.flatMap(filesUnder).filter(isMutable);
    expect(mutable.length).toBeGreaterThan(80);
    const wrong = mutable.map((f) => [f, shardsOf(f).map((s) => s.name)] as const).filter(([, names]) => names.length !== 1);
    expect(wrong).toEqual([]);
  });

  it('lists only files and folders that exist, each with something to mutate and tests to run', () => {
    const tests = filesUnder('test/');
    const mutable = MUTABLE_ROOTS.flatMap(filesUnder).filter(isMutable);
    for (const shard of SHARDS) {
      for (const entry of shard.mutate) {
        expect(existsSync(entry), `${shard.name}: ${entry}`).toBe(true);
        expect(mutable.some((f) => shardsOf(f, [{ ...shard, mutate: [entry] }]).length > 0), `${shard.name}: nothing to mutate in ${entry}`).toBe(true);
      }
      for (const entry of shard.tests) {
        expect(existsSync(entry), `${shard.name}: ${entry}`).toBe(true);
        expect(tests.some((f) => runsTest({ ...shard, tests: [entry] }, f)), `${shard.name}: no test file in ${entry}`).toBe(true);
      }
    }
    expect(new Set(SHARDS.map((s) => s.name)).size).toBe(SHARDS.length);
  });

  it('leaves Lua scripts and declaration files out of the mutated code', () => {
    expect(isMutable('src/locks/lock.lua.ts')).toBe(false);
    expect(isMutable('src/types.d.ts')).toBe(false);
    expect(isMutable('test/core/config.test.ts')).toBe(false);
    expect(isMutable('src/locks/resource-lock.service.ts')).toBe(true);
    expect(mutateGlobs(shardNamed('locks'))).toEqual(['src/locks/**/*.ts', '!src/locks/**/*.lua.ts']);
    expect(mutateGlobs(shardNamed('backend-queue-state'))).toEqual(['testing/backend/queue-state.ts']);
    expect(testGlobs(shardNamed('cron'))).toEqual(['test/cron/**/*.test.ts']);
  });

  it('names the shards when asked for one that does not exist', () => {
    expect(() => shardNamed('wokers')).toThrow(/unknown mutation shard "wokers"; the shards are: backend-store, .*workers/);
  });
});
