import type { JobExecution } from '../history.js';
import { HistoryAssembler, type OpenExecutionPolicy } from './assembler.js';
import {
  entityFromJobData,
  lineFromEffect,
  lineFromEvent,
  type EffectRecord,
  type EntityExtractor,
  type HistoryLine,
  type RecordableJobEvent,
} from './events.js';
import { JsonlWriter, isOpenMarker, readJsonlFile } from './jsonl.js';

export interface HistoryRecorderOptions {
  /** Reads entity and seq from an event; default `entityFromJobData`. */
  extract?: EntityExtractor;
}

/**
 * In-memory history of one process: `workerManager.observe(recorder.listener)`, then `recorder.history()`.
 */
export class HistoryRecorder {
  private readonly assembler = new HistoryAssembler();
  private readonly extract: EntityExtractor;

  constructor(options: HistoryRecorderOptions = {}) {
    this.extract = options.extract ?? entityFromJobData;
  }

  /** Bound listener for `WorkerManagerService.observe`. */
  readonly listener = (event: RecordableJobEvent): void => this.record(event);

  record(event: RecordableJobEvent): void {
    this.assembler.add(lineFromEvent(event, this.extract));
  }

  recordEffect(effect: EffectRecord): void {
    this.assembler.add(lineFromEffect(effect));
  }

  /** A simulated crash: every open execution on `nodeId` (all nodes when omitted) becomes 'crashed'. */
  crashNode(nodeId?: string): number {
    return this.assembler.crashOpen((e) => nodeId === undefined || e.node === nodeId);
  }

  /** Executions so far; attempts still in flight get outcome `open` (default 'running'). */
  history(open: OpenExecutionPolicy = 'running'): JobExecution[] {
    return this.assembler.history(open);
  }

  clear(): void {
    this.assembler.clear();
  }
}

/**
 * Append-only JSONL history of one process (one file per node): one line per event, written through as it happens,
 * so the file survives SIGKILL except a torn last line. Merge the files with `readJsonlHistory`.
 */
export class JsonlHistoryRecorder {
  private readonly writer: JsonlWriter;
  private readonly extract: EntityExtractor;

  constructor(
    readonly filePath: string,
    options: HistoryRecorderOptions & { now?: () => number } = {},
  ) {
    this.extract = options.extract ?? entityFromJobData;
    this.writer = new JsonlWriter(filePath, options.now);
  }

  readonly listener = (event: RecordableJobEvent): void => this.record(event);

  record(event: RecordableJobEvent): void {
    this.writer.write(lineFromEvent(event, this.extract));
  }

  recordEffect(effect: EffectRecord): void {
    this.writer.write(lineFromEffect(effect));
  }

  close(): void {
    this.writer.close();
  }
}

export interface ReadJsonlHistoryOptions {
  /** Attempts with a start and no end: 'crashed' (default — the files are read after the run) or 'running'. */
  open?: OpenExecutionPolicy;
  /** Called with `file: N torn line(s) skipped` and similar notes. */
  onWarning?: (message: string) => void;
}

/**
 * Merges per-node history files into one history. Start and end lines of one attempt are joined; an attempt
 * interrupted by a process restart (open marker in the same file) or left without an end is 'crashed'.
 */
export function readJsonlHistory(files: string | readonly string[], options: ReadJsonlHistoryOptions = {}): JobExecution[] {
  const assembler = new HistoryAssembler();
  for (const file of typeof files === 'string' ? [files] : files) {
    const { lines, tornLines } = readJsonlFile(file);
    if (tornLines > 0) options.onWarning?.(`${file}: ${tornLines} torn line(s) skipped`);
    for (const { value, line } of lines) {
      if (isOpenMarker(value)) {
        assembler.crashOpen((_, source) => source === file);
        continue;
      }
      const phase = (value as { phase?: unknown }).phase;
      if (phase !== 'start' && phase !== 'end' && phase !== 'effect') {
        throw new Error(`${file}:${line}: not a history line (phase ${JSON.stringify(phase)}; accepted: start, end, effect, open)`);
      }
      assembler.add(value as HistoryLine, file);
    }
  }
  if (assembler.orphans > 0) options.onWarning?.(`${assembler.orphans} end/effect line(s) without a start`);
  return assembler.history(options.open ?? 'crashed');
}
