import { createRequire } from 'node:module';
import type IoredisMock from 'ioredis-mock';
import { importPeerDependency } from '../peer-dependency.js';

/**
 * The one place the testing entry point loads `ioredis-mock` (an optional peer dependency). Loaded with a
 * dynamic import at module evaluation, before any module that uses it runs, so a missing package fails the
 * import of `@nestjs/atomic-queues/testing` with a MissingPeerDependencyError naming the install command.
 */
const loaded = await importPeerDependency(
  'ioredis-mock',
  '@nestjs/atomic-queues/testing',
  'the in-memory Redis of the testing module; install it as a dev dependency',
  () => import('ioredis-mock'),
);

export const RedisMock: typeof IoredisMock = ((loaded as { default?: typeof IoredisMock }).default ?? loaded) as typeof IoredisMock;

/** `require` resolving from inside ioredis-mock (its own fengari and data files, without a dependency of ours). */
export const requireFromIoredisMock = createRequire(createRequire(import.meta.url).resolve('ioredis-mock'));
