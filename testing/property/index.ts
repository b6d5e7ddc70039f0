export * from './streams.js';
export * from './system.js';
export * from './simulated-engine.js';
export * from './guarantees.js';
