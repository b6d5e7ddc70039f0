import type * as FastCheck from 'fast-check';
import { importPeerDependency } from '../peer-dependency.js';

/**
 * The one place the property tools load `fast-check` (an optional peer dependency, needed only by
 * `@nestjs/atomic-queues/testing/property`). A missing package fails that import with a
 * MissingPeerDependencyError naming the install command.
 */
export const fc: typeof FastCheck = await importPeerDependency(
  'fast-check',
  '@nestjs/atomic-queues/testing/property',
  'the property-based checks; install it as a dev dependency',
  () => import('fast-check'),
);
