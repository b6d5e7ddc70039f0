export * from './job-processor.decorator.js';
export * from './job-processor.registry.js';
