export * from './atomic-queues-config.js';
export * from './keys.js';
