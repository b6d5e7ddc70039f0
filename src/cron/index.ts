export * from './cron-manager.service.js';
export * from './cron.types.js';
