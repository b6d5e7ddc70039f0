// Public entry point `@nestjs/atomic-queues/testing`.
export * from './history.js';
export * from './redis-server.js';
export * from './clock/index.js';
export * from './backend/index.js';
export * from './redis-mock/index.js';
export * from './checkers/index.js';
export * from './recorder/index.js';
export * from './module/index.js';
export * from './harness/index.js';
export { MissingPeerDependencyError } from './peer-dependency.js';
