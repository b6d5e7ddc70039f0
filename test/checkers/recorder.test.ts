import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JobLifecycleEvent } from '@nestjs/atomic-queues';
import { assertHistory, checkFifoPerEntity } from '../../testing/checkers/index.js';
import {
  EnqueueLog,
  HistoryRecorder,
  JsonlHistoryRecorder,
  readEnqueueLog,
  readJsonlHistory,
  type RecordableJobEvent,
} from '../../testing/recorder/index.js';

// The production event must stay assignable to what the recorders consume (checked by tsc).
const asRecordable = (e: JobLifecycleEvent): RecordableJobEvent => e;
void asRecordable;

function ev(
  phase: 'start' | 'end',
  seq: number,
  at: number,
  extra: { node?: string; attempt?: number; outcome?: 'completed' | 'failed'; error?: unknown; entityId?: string } = {},
): RecordableJobEvent {
  const entityId = extra.entityId ?? '1';
  return {
    phase,
    workerName: `order-${entityId}-worker`,
    nodeId: extra.node ?? 'n1',
    queueName: `order-${entityId}-queue`,
    job: { id: `j${seq}`, name: 'work', data: { entityType: 'order', entityId, seq }, attemptsMade: (extra.attempt ?? 1) - 1 },
    attempt: extra.attempt ?? 1,
    ...(phase === 'end' ? { outcome: extra.outcome ?? 'completed' } : {}),
    ...(extra.error === undefined ? {} : { error: extra.error }),
    at,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aq-recorder-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('HistoryRecorder', () => {
  it('joins start and end events of each attempt into executions', () => {
    const recorder = new HistoryRecorder();
    recorder.listener(ev('start', 0, 10));
    recorder.listener(ev('end', 0, 15, { outcome: 'failed', error: new Error('boom') }));
    recorder.listener(ev('start', 0, 16, { attempt: 2 }));
    recorder.listener(ev('start', 0, 17, { entityId: '2' }));
    recorder.listener(ev('end', 0, 20, { attempt: 2 }));
    expect(recorder.history()).toEqual([
      {
        entityType: 'order', entityId: '1', queue: 'order-1-queue', jobId: 'j0', jobName: 'work', seq: 0,
        worker: 'order-1-worker', node: 'n1', attempt: 1, start: 10, end: 15, outcome: 'failed', error: 'boom',
      },
      expect.objectContaining({ entityId: '1', attempt: 2, start: 16, end: 20, outcome: 'completed' }),
      expect.objectContaining({ entityId: '2', start: 17, outcome: 'running' }),
    ]);
    expect(recorder.history('crashed')[2]!.outcome).toBe('crashed');
    expect(recorder.history()[0]).not.toHaveProperty('fencingToken');
  });

  it('marks in-flight executions of a crashed node and annotates effects', () => {
    const recorder = new HistoryRecorder();
    recorder.record(ev('start', 0, 1, { node: 'a' }));
    recorder.record(ev('start', 1, 1, { node: 'b', entityId: '2' }));
    recorder.recordEffect({ nodeId: 'a', workerName: 'order-1-worker', queueName: 'order-1-queue', jobId: 'j0', attempt: 1, fencingToken: 7, applied: false, at: 2 });
    expect(recorder.crashNode('a')).toBe(1);
    expect(recorder.history().map((e) => [e.node, e.outcome, e.fencingToken, e.applied, e.effectAt])).toEqual([
      ['a', 'crashed', 7, false, 2],
      ['b', 'running', undefined, undefined, undefined],
    ]);
  });

  it('rejects events whose data does not name the entity, with a configurable extractor', () => {
    const event = { ...ev('start', 0, 1), job: { id: '9', name: 'work', data: { orderId: 'x' }, attemptsMade: 0 } };
    expect(() => new HistoryRecorder().record(event)).toThrow(
      'history recorder: job 9 (work) on queue order-1-queue has no string data.entityType (got undefined)',
    );
    const recorder = new HistoryRecorder({ extract: (e) => ({ entityType: 'order', entityId: String((e.job.data as { orderId: string }).orderId) }) });
    recorder.record(event);
    expect(recorder.history()[0]).toMatchObject({ entityType: 'order', entityId: 'x' });
    expect(recorder.history()[0]).not.toHaveProperty('seq');
  });
});

describe('JsonlHistoryRecorder + readJsonlHistory', () => {
  it('merges per-node files and turns attempts without an end into crashed executions', () => {
    const a = new JsonlHistoryRecorder(join(dir, 'a.jsonl'));
    const b = new JsonlHistoryRecorder(join(dir, 'b.jsonl'));
    a.record(ev('start', 0, 1, { node: 'a' }));
    a.record(ev('end', 0, 5, { node: 'a' }));
    a.record(ev('start', 1, 5, { node: 'a' })); // node a dies here
    b.record(ev('start', 1, 40, { node: 'b' }));
    b.record(ev('end', 1, 45, { node: 'b' }));
    a.close();
    b.close();
    const history = readJsonlHistory([join(dir, 'a.jsonl'), join(dir, 'b.jsonl')]);
    expect(history.map((e) => [e.jobId, e.node, e.start, e.end, e.outcome])).toEqual([
      ['j0', 'a', 1, 5, 'completed'],
      ['j1', 'a', 5, undefined, 'crashed'],
      ['j1', 'b', 40, 45, 'completed'],
    ]);
    expect(checkFifoPerEntity(history).ok).toBe(true);
  });

  it('tolerates a torn last line and a torn line before a restart, and rejects garbage elsewhere', () => {
    const file = join(dir, 'n.jsonl');
    const first = new JsonlHistoryRecorder(file);
    first.record(ev('start', 0, 1));
    first.close();
    appendFileSync(file, '{"v":1,"phase":"end","at":'); // killed mid-write
    const warnings: string[] = [];
    expect(readJsonlHistory(file, { onWarning: (w) => warnings.push(w) }).map((e) => e.outcome)).toEqual(['crashed']);
    expect(warnings).toEqual([`${file}: 1 torn line(s) skipped`]);

    const restarted = new JsonlHistoryRecorder(file); // terminates the torn line, writes an open marker
    restarted.record(ev('start', 0, 50));
    restarted.record(ev('end', 0, 60));
    restarted.close();
    expect(readJsonlHistory(file).map((e) => [e.start, e.outcome])).toEqual([
      [1, 'crashed'],
      [50, 'completed'],
    ]);

    const lines = readFileSync(file, 'utf8').split('\n');
    lines[1] = 'garbage'; // the first start line, not at the end of a run
    writeFileSync(file, lines.join('\n'));
    expect(() => readJsonlHistory(file)).toThrow(`${file}:2: malformed JSONL line (not at the end of a run): garbage`);
  });

  it('keeps everything a SIGKILLed process recorded', async () => {
    const file = join(dir, 'killed.jsonl');
    const script = fileURLToPath(new URL('./fixtures/record-forever.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, file, 'n1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`recorder child exited early with code ${code}`)));
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('recording') && resolve());
    });
    child.removeAllListeners('exit');
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const history = readJsonlHistory(file);
    expect(history.length).toBeGreaterThan(50); // what the child had written before it said `recording`
    expect(history.map((e) => e.seq)).toEqual(history.map((_, i) => i));
    // Every job but the last completed; the kill landed either while the last one ran or between two jobs.
    expect(history.slice(0, -1).filter((e) => e.outcome !== 'completed')).toEqual([]);
    const last = history.at(-1)!;
    expect(['completed', 'crashed']).toContain(last.outcome);
    const enqueued = history.map((e) => ({ entityType: 'order', entityId: '1', jobId: e.jobId, seq: e.seq! }));
    assertHistory(last.outcome === 'crashed' ? enqueued.slice(0, -1) : enqueued, history);
  });
});

describe('EnqueueLog + readEnqueueLog', () => {
  it('records in memory and to JSONL, merging producer files in seq order', () => {
    const p1 = new EnqueueLog(join(dir, 'p1.jsonl'));
    const p2 = new EnqueueLog(join(dir, 'p2.jsonl'));
    p1.record({ entityType: 'order', entityId: '1', jobId: 'j1', seq: 1, at: 5 });
    p2.record({ entityType: 'order', entityId: '1', jobId: 'j0', seq: 0, at: 4 });
    p2.record({ entityType: 'order', entityId: '2', jobId: 'j0', seq: 0, at: 6, status: 'unknown' });
    p1.close();
    p2.close();
    expect(p1.entries()).toHaveLength(1);
    appendFileSync(join(dir, 'p2.jsonl'), '{"entityType":"ord');
    const merged = readEnqueueLog([join(dir, 'p1.jsonl'), join(dir, 'p2.jsonl')]);
    expect(merged.map((j) => [j.entityId, j.jobId, j.status ?? 'ok'])).toEqual([
      ['1', 'j0', 'ok'],
      ['2', 'j0', 'unknown'],
      ['1', 'j1', 'ok'],
    ]);
    writeFileSync(join(dir, 'bad.jsonl'), '{"entityType":"order","entityId":"1","jobId":"j","seq":"x"}\n');
    expect(() => readEnqueueLog(join(dir, 'bad.jsonl'))).toThrow('bad.jsonl:1: enqueue line with seq "x"; accepted: an integer');
  });
});
