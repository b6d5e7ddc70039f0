import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompletedJobsCounter } from '../../toolkit/progress/completed-jobs.js';
import { formatDuration, isCi, ProgressReporter } from '../../toolkit/progress/progress.js';

/** A stream stand-in that records what was written. */
function sink(isTTY: boolean, columns = 200) {
  const chunks: string[] = [];
  return { chunks, isTTY, columns, write: (s: string) => chunks.push(s), text: () => chunks.join('') };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('ProgressReporter', () => {
  it('on a terminal: one status line redrawn in place (scenario k/n, elapsed, jobs, ETA); log lines go above it', () => {
    const out = sink(true);
    const c = clock();
    let jobs = 0;
    const p = new ProgressReporter({ label: 'chaos', total: 3, stream: out, env: {}, now: c.now, manualTicks: true });
    expect(p.interactive).toBe(true);
    p.startScenario('node-kill', { expectedJobs: 100, jobs: () => jobs });
    expect(out.text()).toBe('\r\x1b[2Kchaos [1/3] node-kill | elapsed 0ms | jobs 0 (this scenario 0/100) | ETA ?');
    c.advance(10_000);
    jobs = 25;
    out.chunks.length = 0;
    p.tick();
    // 25 of 100 in 10 s: 30 s left in this scenario, and two more scenarios of 40 s each
    expect(out.text()).toBe('\r\x1b[2Kchaos [1/3] node-kill | elapsed 10.0s | jobs 25 (this scenario 25/100) | ETA 1m50s');
    out.chunks.length = 0;
    p.log('[node-kill] inject');
    expect(out.chunks).toEqual(['\r\x1b[2K', '[node-kill] inject\n', '\r\x1b[2Kchaos [1/3] node-kill | elapsed 10.0s | jobs 25 (this scenario 25/100) | ETA 1m50s']);
    jobs = 100;
    c.advance(30_000);
    p.endScenario();
    p.startScenario('redis-restart');
    c.advance(15_000);
    out.chunks.length = 0;
    p.tick();
    // the scenarios so far took 40 s each on average: 25 s left in this one, 40 s for the last
    expect(out.text()).toBe('\r\x1b[2Kchaos [2/3] redis-restart | elapsed 55.0s | jobs 100 | ETA 1m05s');
    out.chunks.length = 0;
    p.stop();
    expect(out.text()).toBe('\r\x1b[2K');
    p.tick();
    p.log('after');
    expect(out.text()).toBe('\r\x1b[2Kafter\n'); // no redraw once stopped
  });

  it('the status line is cut to the terminal width', () => {
    const out = sink(true, 40);
    const p = new ProgressReporter({ label: 'load', total: 2, stream: out, env: {}, now: clock().now, manualTicks: true });
    p.startScenario('many-entities-with-a-long-name', { expectedMs: 60_000 });
    const drawn = out.text().replace('\r\x1b[2K', '');
    expect(drawn).toHaveLength(39);
    expect(drawn.endsWith('…')).toBe(true);
  });

  it('not a terminal, or CI=true: plain lines only (no carriage return, no escape codes), at each start and then periodically', () => {
    for (const [isTTY, env] of [[false, {}], [true, { CI: 'true' }]] as const) {
      const out = sink(isTTY);
      const c = clock();
      const p = new ProgressReporter({ label: 'soak', total: 2, stream: out, env, now: c.now, plainEveryMs: 30_000, manualTicks: true });
      expect(p.interactive).toBe(false);
      p.startScenario('load phase', { expectedMs: 120_000 });
      c.advance(10_000);
      p.tick(); // not due yet
      p.log('[soak] t=10 s: redis 2.0 MiB');
      c.advance(25_000);
      p.tick();
      p.endScenario();
      p.startScenario('drain');
      p.stop();
      expect(out.text()).not.toMatch(/[\r\x1b]/);
      expect(out.text().split('\n')).toEqual([
        'soak [1/2] load phase | elapsed 0ms | jobs 0 | ETA 4m00s',
        '[soak] t=10 s: redis 2.0 MiB',
        'soak [1/2] load phase | elapsed 35.0s | jobs 0 | ETA 3m25s', // 85 s left, then one more of 120 s
        'soak [2/2] drain | elapsed 35.0s | jobs 0 | ETA ?', // the last scenario, nothing to estimate it by
        '',
      ]);
    }
  });

  it('a jobs source that throws counts nothing; bad totals are refused', () => {
    const p = new ProgressReporter({ label: 'bench', total: 1, stream: sink(false), env: {}, manualTicks: true });
    p.startScenario('p1', { jobs: () => { throw new Error('not yet'); } });
    expect(p.jobsDone()).toBe(0);
    expect(() => new ProgressReporter({ label: 'x', total: 0, stream: sink(false), manualTicks: true })).toThrow('total must be an integer >= 1 (got 0)');
  });

  it('isCi and formatDuration', () => {
    expect([isCi({}), isCi({ CI: '' }), isCi({ CI: 'false' }), isCi({ CI: '0' }), isCi({ CI: 'true' }), isCi({ CI: '1' })]).toEqual([false, false, false, false, true, true]);
    expect([850, 3_140, 125_000, 3_720_000].map(formatDuration)).toEqual(['850ms', '3.1s', '2m05s', '1h02m']);
  });
});

describe('CompletedJobsCounter', () => {
  let dir: string | undefined;
  afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('counts completed end lines of the run dir histories incrementally, a torn last line once it is whole', () => {
    dir = mkdtempSync(join(tmpdir(), 'aq-progress-'));
    const counter = new CompletedJobsCounter(dir);
    expect(counter.count()).toBe(0);
    const a = join(dir, 'history-node-1.jsonl');
    const line = (v: object) => `${JSON.stringify({ v: 1, ...v })}\n`;
    writeFileSync(a, line({ phase: 'open', pid: 1, at: 0 }) + line({ phase: 'start', jobId: '1' }) + line({ phase: 'end', jobId: '1', outcome: 'completed' }));
    writeFileSync(join(dir, 'enqueue-p1.jsonl'), line({ phase: 'end', jobId: 'x' })); // not a history file
    expect(counter.count()).toBe(1);
    const torn = line({ phase: 'end', jobId: '2', outcome: 'completed' });
    appendFileSync(a, line({ phase: 'end', jobId: '3', outcome: 'failed' }) + torn.slice(0, 10));
    expect(counter.count()).toBe(1);
    appendFileSync(a, torn.slice(10));
    writeFileSync(join(dir, 'history-node-2.jsonl'), line({ phase: 'end', jobId: '4' })); // outcome absent = completed
    expect(counter.count()).toBe(3);
    expect(counter.count()).toBe(3);
  });
});

describe('ProgressReporter with one run-wide jobs counter', () => {
  it('jobs done is the counter; each scenario shows its share since it started', () => {
    const out = sink(false);
    const c = clock();
    let total = 0;
    const p = new ProgressReporter({ label: 'load', total: 2, stream: out, env: {}, now: c.now, jobs: () => total, plainEveryMs: 1000, manualTicks: true });
    p.startScenario('many-entities', { expectedMs: 10_000 });
    total = 40;
    c.advance(5_000);
    p.tick();
    p.endScenario();
    p.startScenario('drain', { expectedJobs: 100 });
    total = 70;
    c.advance(3_000);
    p.tick();
    expect(out.text().split('\n')).toEqual([
      'load [1/2] many-entities | elapsed 0ms | jobs 0 | ETA 20.0s',
      'load [1/2] many-entities | elapsed 5.0s | jobs 40 | ETA 15.0s',
      'load [2/2] drain | elapsed 5.0s | jobs 40 (this scenario 0/100) | ETA ?',
      'load [2/2] drain | elapsed 8.0s | jobs 70 (this scenario 30/100) | ETA 7.0s',
      '',
    ]);
  });
});
