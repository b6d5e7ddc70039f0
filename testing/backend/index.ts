export * from './create-in-memory-backend.js';
export * from './errors.js';
export * from './in-memory-backend.js';
export * from './in-memory-queue-driver.js';
export * from './in-memory-store.js';
export type { StoredJob, StreamEvent } from './queue-state.js';
