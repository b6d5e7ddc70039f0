export * from './events.js';
export { HistoryAssembler, type OpenExecutionPolicy } from './assembler.js';
export { JsonlWriter, readJsonlFile, isOpenMarker, type JsonlLine, type OpenMarker } from './jsonl.js';
export * from './history-recorder.js';
export * from './enqueue-log.js';
