export * from './clocked-redis-mock.js';
