export {
  HistoryCheckError,
  countKinds,
  describeExecution,
  formatReport,
  groupByEntity,
  isSuccess,
  type AssertOptions,
  type CheckResult,
} from './common.js';
export * from './fifo.js';
export * from './single-worker.js';
export * from './no-lost.js';
export * from './history-check.js';
