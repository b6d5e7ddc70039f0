export * from './clock.js';
export * from './queue-driver.js';
export * from './redis.js';
