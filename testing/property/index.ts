// Public entry point `@nestjs/atomic-queues/testing/property`: the property tools (need fast-check).
export * from './streams.js';
export * from './system.js';
export * from './simulated-engine.js';
export * from './guarantees.js';
export * from '../harness/module-system.js';
