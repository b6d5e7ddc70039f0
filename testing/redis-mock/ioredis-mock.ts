import { createRequire } from 'node:module';
import type IoredisMock from 'ioredis-mock';
import { requirePeerDependency } from '../peer-dependency.js';

const require = createRequire(import.meta.url);

/**
 * The one place the testing entry point loads `ioredis-mock` (an optional peer dependency, a CommonJS package).
 * Loaded at module evaluation, before any module that uses it runs, so a missing package fails the import of
 * `@nestjs/atomic-queues/testing` with a MissingPeerDependencyError naming the install command. Loaded with
 * `require`, not a top-level `await import()`: a module with top-level await cannot be `require()`d, and
 * CommonJS apps (NestJS 11) load this entry point through Node's require(esm).
 */
const loaded = requirePeerDependency(
  'ioredis-mock',
  '@nestjs/atomic-queues/testing',
  'the in-memory Redis of the testing module; install it as a dev dependency',
  () => require('ioredis-mock') as unknown,
);

export const RedisMock: typeof IoredisMock = ((loaded as { default?: typeof IoredisMock }).default ?? loaded) as typeof IoredisMock;

/** `require` resolving from inside ioredis-mock (its own fengari and data files, without a dependency of ours). */
export const requireFromIoredisMock = createRequire(require.resolve('ioredis-mock'));
