import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnqueueLog, JsonlHistoryRecorder, checkHistory, type RecordableJobEvent } from '@nestjs/atomic-queues/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOutcomes } from '../../load/lib/checks.js';
import { parseDriverArgs, producerCount, splitEvenly } from '../../load/lib/driver-options.js';
import { PROFILES } from '../../load/lib/scenarios.js';
import { entitySliceProducer, hotEntityProducer, runProducer, toEnqueued } from '../../load/producer.js';
import { verifyDir } from '../../load/verify.js';

describe('driver options', () => {
  it('starts from the profile and applies overrides', () => {
    expect(parseDriverArgs([])).toMatchObject({ ...PROFILES.smoke, profile: 'smoke', outDir: 'load/results', drainTimeoutS: 60 });
    expect(parseDriverArgs(['--profile', 'standard', '--entities', '7', '--duration', '5s', '--nodes', '3', '--rate', '20'])).toMatchObject({
      profile: 'standard', entities: 7, durationS: 5, nodes: 3, rate: 20, hotVus: PROFILES.standard.hotVus,
    });
  });

  it('names the bad flag, the value and what is accepted', () => {
    expect(() => parseDriverArgs(['--rate', 'fast'])).toThrow(/--rate must be a positive integer, got "fast"/);
    expect(() => parseDriverArgs(['--duration', '0'])).toThrow(/--duration must be a positive integer \(optionally suffixed "s"\), got "0"/);
    expect(() => parseDriverArgs(['--profile', 'x'])).toThrow(/unknown profile "x"; accepted: smoke, standard, stress/);
    expect(() => parseDriverArgs(['--nodes', '40'])).toThrow(/--nodes must be at most 16/);
    expect(() => parseDriverArgs(['--bogus', '1'])).toThrow(/bogus[\s\S]*usage: npm run load/);
  });

  it('sizes producers and splits the rate exactly', () => {
    expect(producerCount({ rate: 80, nodes: 2, entities: 40 })).toBe(8);
    expect(producerCount({ rate: 5, nodes: 3, entities: 40 })).toBe(3);
    expect(producerCount({ rate: 2, nodes: 3, entities: 40 })).toBe(2);
    expect(producerCount({ rate: 5000, nodes: 2, entities: 10 })).toBe(10);
    expect(splitEvenly(10, 4)).toEqual([3, 3, 2, 2]);
    expect(splitEvenly(10, 4).reduce((a, b) => a + b)).toBe(10);
  });
});

describe('runProducer against a recording HTTP server', () => {
  let server: Server;
  let url: string;
  const received: Array<{ path: string; seq: number; jobId: string }> = [];
  let inFlight = 0;
  let maxInFlight = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const { seq, jobId } = JSON.parse(body) as { seq: number; jobId: string };
        received.push({ path: req.url!, seq, jobId });
        // Drop the connection without a reply for job 2 of the "cut" entity: the producer cannot know the outcome.
        if (req.url!.includes('cut') && seq === 2) {
          inFlight -= 1;
          req.socket.destroy();
          return;
        }
        // Refuse every 5th job of the hot entity to exercise the rejected path.
        const refuse = req.url!.includes('hot') && seq % 5 === 4;
        setTimeout(() => {
          inFlight -= 1;
          res.writeHead(refuse ? 503 : 201, { 'content-type': 'application/json' });
          res.end(refuse ? '{}' : JSON.stringify({ jobId, queue: 'q', seq }));
        }, 1);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends one request at a time with gap-free per-entity sequences, and records acks and refusals', async () => {
    received.length = 0;
    const run = await runProducer({ url, next: entitySliceProducer('t-e', 6, 2, 1), amount: 10, padBytes: 4 });
    expect(maxInFlight).toBe(1);
    expect(run.failures).toBe(0);
    expect(received.map((r) => `${r.path}#${r.seq}`).slice(0, 4)).toEqual([
      '/entities/load/t-e1/jobs#0', '/entities/load/t-e3/jobs#0', '/entities/load/t-e5/jobs#0', '/entities/load/t-e1/jobs#1',
    ]);
    const acked = run.produced.filter((p) => p.ackAt !== undefined);
    expect(acked.length).toBe(received.length);
    expect(acked.every((p) => p.status === 201 && p.ackAt! >= p.sentAt && p.jobId === `${p.entityId}-${p.seq}`)).toBe(true);

    const hot = await runProducer({ url, next: hotEntityProducer('t-hot0'), amount: 10, padBytes: 0 });
    const refused = hot.produced.filter((p) => p.status === 503).map((p) => p.seq);
    expect(refused).toEqual([4, 9]);
    const enqueued = toEnqueued(hot.produced);
    expect(enqueued.map((e) => e.seq)).toEqual([0, 1, 2, 3, 5, 6, 7, 8]);
    expect(enqueued.every((e) => e.status === 'ok')).toBe(true);
  });

  it('marks an enqueue whose connection died without a reply as unknown, and counts the failure', async () => {
    const run = await runProducer({ url, next: hotEntityProducer('t-cut'), amount: 5, padBytes: 0 });
    expect(run.failures).toBe(1);
    const cut = run.produced.find((p) => p.seq === 2)!;
    expect(cut.status).toBe(0);
    expect(cut.ackAt).toBeUndefined();
    const enqueued = toEnqueued(run.produced);
    expect(enqueued.find((e) => e.seq === 2)).toMatchObject({ status: 'unknown', jobId: 't-cut-2' });
    expect(enqueued.filter((e) => e.seq !== 2).every((e) => e.status === 'ok')).toBe(true);
  });
});

describe('history verification', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aq-verify-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const event = (phase: 'start' | 'end', seq: number, at: number): RecordableJobEvent => ({
    phase, workerName: 'load-a-worker', nodeId: 'n1', queueName: 'load-a-queue',
    job: { id: `a-${seq}`, name: 'load-step', data: { entityType: 'load', entityId: 'a', seq }, attemptsMade: 0 },
    attempt: 1, at, ...(phase === 'end' ? { outcome: 'completed' as const } : {}),
  });

  function record(sub: string, order: number[]): string {
    const d = join(dir, sub);
    mkdirSync(d);
    const log = new EnqueueLog(join(d, 'enqueue-n1.jsonl'));
    const rec = new JsonlHistoryRecorder(join(d, 'history-n1.jsonl'));
    for (const seq of [0, 1, 2]) log.record({ entityType: 'load', entityId: 'a', jobId: `a-${seq}`, seq, status: 'ok' });
    order.forEach((seq, i) => {
      rec.record(event('start', seq, i * 10));
      rec.record(event('end', seq, i * 10 + 5));
    });
    log.close();
    rec.close();
    return d;
  }

  it('passes a FIFO run and reports a reordered one through the report rows', () => {
    const good = verifyDir(record('good', [0, 1, 2]));
    expect(good.ok).toBe(true);
    expect(checkOutcomes(good).every((c) => c.ok)).toBe(true);
    const bad = verifyDir(record('bad', [0, 2, 1]));
    expect(bad.ok).toBe(false);
    const rows = checkOutcomes(bad);
    expect(rows.find((c) => c.name === 'fifo')).toMatchObject({ ok: false });
    expect(rows.find((c) => c.name === 'lost')).toMatchObject({ ok: true, violations: 0 });
  });

  it('counts a lost job', () => {
    const rows = checkOutcomes(checkHistory([{ entityType: 'load', entityId: 'z', jobId: 'z-0', seq: 0 }], []));
    expect(rows.find((c) => c.name === 'lost')).toMatchObject({ ok: false, violations: 1 });
  });

  it('explains a directory without recordings', () => {
    expect(() => verifyDir(join(dir))).toThrow(/no history-\*\.jsonl in .*AQ_HISTORY_FILE/);
  });
});
