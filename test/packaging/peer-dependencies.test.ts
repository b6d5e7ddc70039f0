import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MissingPeerDependencyError, importPeerDependency, isMissingPackageError } from '../../src/peer-dependency.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module reachable from `entry` through static imports/re-exports (relative ones followed, bare ones collected). */
function importGraph(entry: string): { files: string[]; packages: Map<string, string[]> } {
  const files = new Set<string>();
  const packages = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    // Static value imports and re-exports; `import type` / `export type` are erased and load nothing.
    for (const m of source.matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else packages.set(spec, [...(packages.get(spec) ?? []), relative(root, file)]);
    }
    // Dynamic imports load too.
    for (const m of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      packages.set(m[1], [...(packages.get(m[1]) ?? []), `${relative(root, file)} (dynamic)`]);
    }
  };
  visit(entry);
  return { files: [...files].map((f) => relative(root, f)), packages };
}

describe('optional peer dependencies of the entry points', () => {
  it('@nestjs/atomic-queues/testing does not load fast-check; /testing/property does, through its loader only', () => {
    const testing = importGraph(join(root, 'testing/index.ts'));
    expect(testing.files).not.toContain('testing/property/fast-check.ts');
    expect(testing.packages.has('fast-check')).toBe(false);
    // ioredis-mock is loaded in exactly one place, the loader that reports it missing.
    expect(testing.packages.get('ioredis-mock')).toEqual(['testing/redis-mock/ioredis-mock.ts (dynamic)']);

    const property = importGraph(join(root, 'testing/property/index.ts'));
    expect(property.packages.get('fast-check')).toEqual(['testing/property/fast-check.ts (dynamic)']);
  });

  it('@nestjs/atomic-queues loads @opentelemetry/api only through the telemetry loader, bullmq-otel and the SDK never', () => {
    const main = importGraph(join(root, 'src/index.ts'));
    expect(main.packages.get('@opentelemetry/api')).toEqual(['src/telemetry/observer.provider.ts (dynamic)']);
    expect([...main.packages.keys()].filter((p) => p.startsWith('@opentelemetry/') && p !== '@opentelemetry/api')).toEqual([]);
    expect(main.packages.has('bullmq-otel')).toBe(false);
  });

  it('a missing runtime peer (telemetry) names `npm install`, without -D', async () => {
    const err = await importPeerDependency('h1-no-such-otel', 'AtomicQueuesModule telemetry', 'spans', () => import(/* @vite-ignore */ ['h1-no-such-otel'][0]), 'runtime').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPeerDependencyError);
    expect((err as MissingPeerDependencyError).installCommand).toBe('npm install h1-no-such-otel');
  });

  it('@nestjs/atomic-queues loads @nestjs/terminus only in the health module, when AtomicQueuesHealthModule.forRoot() runs', () => {
    const main = importGraph(join(root, 'src/index.ts'));
    expect(main.packages.get('@nestjs/terminus')).toEqual(['src/health/terminus/atomic-queues-health.module.ts (dynamic)']);
  });

  it('a missing runtime peer names `npm install` without -D', () => {
    const err = new MissingPeerDependencyError('@nestjs/terminus', 'AtomicQueuesHealthModule', 'probes', undefined, 'runtime');
    expect(err.installCommand).toBe('npm install @nestjs/terminus');
    expect(err.message).toBe("AtomicQueuesHealthModule needs the package '@nestjs/terminus' (probes), which is not installed. Install it: npm install @nestjs/terminus");
  });

  it('a missing package fails with an error naming it and the install command', async () => {
    const err = await importPeerDependency('h1-no-such-package', '@nestjs/atomic-queues/testing', 'for this test', () =>
      import(/* @vite-ignore */ ['h1-no-such-package'][0]),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingPeerDependencyError);
    expect((err as Error).message).toBe(
      "@nestjs/atomic-queues/testing needs the package 'h1-no-such-package' (for this test), which is not installed. Install it: npm install -D h1-no-such-package",
    );
    expect((err as MissingPeerDependencyError).installCommand).toBe('npm install -D h1-no-such-package');
    expect((err as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
  });

  it('other failures are not reported as a missing package (a missing dependency OF the package, a throwing module)', async () => {
    const inner = Object.assign(new Error("Cannot find package 'fengari' imported from /x/ioredis-mock/index.js"), { code: 'ERR_MODULE_NOT_FOUND' });
    expect(isMissingPackageError(inner, 'ioredis-mock')).toBe(false);
    await expect(importPeerDependency('ioredis-mock', 'x', 'y', () => Promise.reject(inner))).rejects.toBe(inner);
    const boom = new Error('boom');
    await expect(importPeerDependency('ioredis-mock', 'x', 'y', () => Promise.reject(boom))).rejects.toBe(boom);
    const cjs = Object.assign(new Error("Cannot find module 'ioredis-mock'\nRequire stack: …"), { code: 'MODULE_NOT_FOUND' });
    expect(isMissingPackageError(cjs, 'ioredis-mock')).toBe(true);
  });
});
