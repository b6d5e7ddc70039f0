export * from './resource-lock.service.js';
