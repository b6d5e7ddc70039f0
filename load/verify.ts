import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatHistoryCheck, type HistoryCheckResult } from '@nestjs/atomic-queues/testing';
import { collectRun, ENQUEUE_FILE_RE, HISTORY_FILE_RE } from '../toolkit/cluster/run-dir.js';

/**
 * `npm run load:verify -- --dir <dir>`: checks a run recorded by the example app (any producer, e.g. k6):
 * every `history-*.jsonl` (AQ_HISTORY_FILE of each node) against every `enqueue-*.jsonl` (AQ_ENQUEUE_FILE).
 * Exit code 0 = no lost / unexpected job, FIFO kept per entity, never two executions of one entity at once.
 */
export function verifyDir(dir: string, onWarning: (m: string) => void = console.warn): HistoryCheckResult {
  const files = readdirSync(dir);
  if (!files.some((f) => HISTORY_FILE_RE.test(f))) throw new Error(`no history-*.jsonl in ${dir} (start each node with AQ_HISTORY_FILE=${dir}/history-<node>.jsonl)`);
  if (!files.some((f) => ENQUEUE_FILE_RE.test(f))) throw new Error(`no enqueue-*.jsonl in ${dir} (start each node with AQ_ENQUEUE_FILE=${dir}/enqueue-<node>.jsonl)`);
  const run = collectRun(dir);
  for (const warning of run.warnings) onWarning(warning);
  return run.check;
}

if (process.argv[1] && resolve(process.argv[1]).endsWith(join('load', 'verify.js'))) {
  const { values } = parseArgs({ options: { dir: { type: 'string' } } });
  if (!values.dir) {
    console.error('usage: npm run load:verify -- --dir <directory holding history-*.jsonl and enqueue-*.jsonl>');
    process.exit(2);
  }
  const result = verifyDir(resolve(values.dir));
  console.log(formatHistoryCheck(result));
  process.exit(result.ok ? 0 : 1);
}
