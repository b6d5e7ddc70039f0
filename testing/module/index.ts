export * from './atomic-queues-testing.module.js';
export * from './in-memory-ports.js';
