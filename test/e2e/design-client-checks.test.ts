// The pieces of the design-client proof that decide pass/fail, on made-up inputs: snippet extraction and the
// order checks fail when they should.
import { describe, expect, it } from 'vitest';
import { checkOrderExecutions, makeOrders, type OrderExecution } from '../../scripts/design-client/app/order-checks.js';
import { extractInstallCommands, extractSnippet } from './design-client/snippets.js';
import { compileErrorsByFile } from './design-client/fresh-app.js';
import { checkTwoNodeRun, type TwoNodeRun } from './design-client/two-nodes.js';

const DOC = [
  '# Title',
  '## Installation',
  '```bash',
  'npm install @nestjs/atomic-queues bullmq ioredis',
  'npm install -D ioredis-mock    # for tests',
  '```',
  '### 3. Register Job Processors',
  'Some text.',
  '```typescript',
  "import { Injectable } from '@nestjs/common';",
  '```',
  '### 4. Queue Jobs',
  'No code here.',
  '### 5. Create Workers',
  '```ts',
  'export class A {}',
  '```',
].join('\n');

describe('extractSnippet', () => {
  it('returns the first code block under the heading, verbatim', () => {
    expect(extractSnippet(DOC, '### 3. Register Job Processors')).toBe("import { Injectable } from '@nestjs/common';\n");
    expect(extractSnippet(DOC, '### 5. Create Workers')).toBe('export class A {}\n');
  });

  it('never takes a block from the next section, and names the heading it misses', () => {
    expect(() => extractSnippet(DOC, '### 4. Queue Jobs', 'doc.md')).toThrow('doc.md: the section "### 4. Queue Jobs" has no code block');
    expect(() => extractSnippet(DOC, '### 6. Missing', 'doc.md')).toThrow('doc.md has no heading "### 6. Missing"');
  });

  it('reads the npm install lines, comments dropped', () => {
    expect(extractInstallCommands(DOC)).toEqual([
      ['install', '@nestjs/atomic-queues', 'bullmq', 'ioredis'],
      ['install', '-D', 'ioredis-mock'],
    ]);
  });
});

describe('checkOrderExecutions', () => {
  const [order] = makeOrders(1);
  const exec = (command: OrderExecution['command'], start: number, end: number, payload: unknown = command === 'validate-order' ? order.items : order.amount): OrderExecution => ({
    command,
    orderId: order.orderId,
    payload,
    node: 'n1',
    start,
    end,
  });

  it('accepts validate-order then process-payment, once each', () => {
    expect(checkOrderExecutions([order], [exec('process-payment', 40, 41), exec('validate-order', 0, 30)])).toEqual([]);
  });

  it('reports a reversed order, an overlap, a duplicate, a missing job, wrong data and unknown orders', () => {
    const report = (runs: OrderExecution[]) => checkOrderExecutions([order], runs).join('\n');
    expect(report([exec('process-payment', 0, 1), exec('validate-order', 5, 30)])).toMatch(/expected validate-order then process-payment once each, ran: process-payment@n1, validate-order@n1/);
    expect(report([exec('validate-order', 0, 30), exec('process-payment', 10, 11)])).toMatch(/process-payment started 20\.0 ms before validate-order ended/);
    expect(report([exec('validate-order', 0, 30), exec('process-payment', 40, 41), exec('process-payment', 50, 51)])).toMatch(/once each/);
    expect(report([exec('validate-order', 0, 30)])).toMatch(/ran: validate-order@n1$/);
    expect(report([exec('validate-order', 0, 30, []), exec('process-payment', 40, 41, 7)])).toMatch(/got items \[\][\s\S]*got amount 7/);
    expect(checkOrderExecutions([], [exec('validate-order', 0, 1)])).toEqual([`order ${order.orderId} was never placed but ran 1 job(s)`]);
  });
});

describe('checkTwoNodeRun', () => {
  const orders = makeOrders(1);
  const good = (): TwoNodeRun => ({
    orders,
    executions: [
      { command: 'validate-order', orderId: '1001', payload: orders[0].items, node: 'node-a', start: 0, end: 30 },
      { command: 'process-payment', orderId: '1001', payload: orders[0].amount, node: 'node-a', start: 31, end: 32 },
    ],
    nodes: [
      { label: 'node-a', stdout: '@@ready\nWorker 1001-worker is ready\n', stderr: '', exit: { code: null, signal: 'SIGTERM' } },
      { label: 'node-b', stdout: '@@ready\n', stderr: '', exit: { code: 0, signal: null } },
    ],
  });

  it('accepts one worker per order and clean exits', () => {
    expect(checkTwoNodeRun(good())).toEqual([]);
  });

  it('reports two live workers for an order, job failures, client errors, a hung node and a timeout', () => {
    const run = good();
    run.nodes[1].stdout += 'Worker 1001-worker is ready\n@@error createOrder(1001): boom\n';
    run.nodes[1].stderr = 'Job 7 failed in 1001-worker: processor.process is not a function\n';
    run.nodes[0].exit = { code: null, signal: 'SIGKILL' };
    run.timedOut = 'both nodes ready (@@ready)';
    expect(checkTwoNodeRun(run)).toEqual([
      'timed out waiting for: both nodes ready (@@ready)',
      'node-a: did not shut down cleanly on SIGTERM (exit {"code":null,"signal":"SIGKILL"})',
      'node-b: error createOrder(1001): boom',
      'node-b: Job 7 failed in 1001-worker: processor.process is not a function',
      'order 1001: 2 workers became ready (node-a, node-b), expected exactly 1',
    ]);
  });
});

describe('compileErrorsByFile', () => {
  it('groups tsc errors by file with their continuation lines, other output under (tsc)', () => {
    const output = [
      "src/a.ts(1,2): error TS2339: Property 'name' does not exist on type 'Promise<Queue>'.",
      '  Did you forget to use await?',
      "src/b.ts(3,4): error TS2554: Expected 3 arguments, but got 2.",
      "src/a.ts(5,6): error TS2304: Cannot find name 'x'.",
      "error TS5023: Unknown compiler option 'foo'.",
      '',
    ].join('\n');
    expect(Object.fromEntries(compileErrorsByFile(output))).toEqual({
      'src/a.ts': ["src/a.ts(1,2): error TS2339: Property 'name' does not exist on type 'Promise<Queue>'.\n  Did you forget to use await?", "src/a.ts(5,6): error TS2304: Cannot find name 'x'."],
      'src/b.ts': ['src/b.ts(3,4): error TS2554: Expected 3 arguments, but got 2.'],
      '(tsc)': ["error TS5023: Unknown compiler option 'foo'."],
    });
  });
});
