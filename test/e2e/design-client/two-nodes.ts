// Runs two node processes of the fresh app (its main.ts) against a private redis-server: node A places the
// orders, then both create a worker for every order at once; every execution is recorded to a file per node.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedisServer } from '../../../testing/redis-server.js';
import { checkOrderExecutions, makeOrders, type OrderExecution, type PlacedOrder } from '../../../scripts/design-client/app/order-checks.js';
import { cleanEnv } from '../fresh-app/process.js';

export interface NodeRun {
  label: string;
  stdout: string;
  stderr: string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export interface TwoNodeRun {
  orders: PlacedOrder[];
  nodes: NodeRun[];
  executions: OrderExecution[];
  /** The first step that did not finish in time (the run stops there and still shuts the nodes down). */
  timedOut?: string;
}

export interface TwoNodeOptions {
  orderCount?: number;
  /** How long validate-order works (so a payment that does not wait for it overlaps it). */
  validateDelayMs?: number;
  /** For every order's jobs to complete or fail. */
  processTimeoutMs?: number;
}

class AppNode {
  stdout = '';
  stderr = '';
  exit: NodeRun['exit'];
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(
    readonly label: string,
    dir: string,
    env: Record<string, string>,
  ) {
    this.child = spawn(process.execPath, ['dist/main.js'], { cwd: dir, env: cleanEnv({ ...env, NODE_LABEL: label }), stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => ((this.exit = { code, signal }), resolve())));
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  /** Resolves when stdout has the line `@@<marker>`; false on timeout or exit. */
  async waitFor(marker: string, timeoutMs: number): Promise<boolean> {
    return until(() => this.stdout.split('\n').includes(`@@${marker}`) || this.exit !== undefined, timeoutMs).then(
      (ok) => ok && this.exit === undefined,
    );
  }

  /** SIGTERM (the app's shutdown hooks close it), SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    if (this.exit) return;
    this.child.kill('SIGTERM');
    if (!(await until(() => this.exit !== undefined, graceMs))) {
      this.stderr += `\n[test: no exit ${graceMs} ms after SIGTERM; killed]`;
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }

  result(): NodeRun {
    return { label: this.label, stdout: this.stdout, stderr: this.stderr, exit: this.exit };
  }
}

async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** The snippet's own event logs: "Job <id> completed by <worker>" / "Job <id> failed in <worker>: …". */
const JOB_END = /^Job \S+ (completed by|failed in) /;

export async function runTwoNodes(appDir: string, options: TwoNodeOptions = {}): Promise<TwoNodeRun> {
  const orders = makeOrders(options.orderCount ?? 20);
  const redis = await startRedisServer();
  const files = ['a', 'b'].map((label) => join(appDir, `executions-${label}-${redis.port}.jsonl`));
  const env = {
    REDIS_URL: redis.url,
    ORDER_COUNT: String(orders.length),
    VALIDATE_DELAY_MS: String(options.validateDelayMs ?? 30),
  };
  const nodes = ['a', 'b'].map((label, i) => new AppNode(`node-${label}`, appDir, { ...env, EXECUTIONS_FILE: files[i], WORKERS_FROM_END: String(i) }));
  const [producer] = nodes;
  let timedOut: string | undefined;
  const jobEnds = () => nodes.reduce((n, node) => n + `${node.stdout}\n${node.stderr}`.split('\n').filter((l) => JOB_END.test(l)).length, 0);
  const placed = () => orders.length - producer.stdout.split('\n').filter((l) => l.startsWith('@@error createOrder(')).length;
  const all = async (waits: Array<Promise<boolean>>) => (await Promise.all(waits)).every(Boolean);
  const steps: Array<[string, () => Promise<boolean>]> = [
    ['both nodes ready (@@ready)', () => all(nodes.map((n) => n.waitFor('ready', 60_000)))],
    ['node A placed the orders (@@produced)', () => (producer.send('produce'), producer.waitFor('produced', 60_000))],
    ['both nodes created the workers (@@workers)', () => (nodes.forEach((n) => n.send('workers')), all(nodes.map((n) => n.waitFor('workers', 60_000))))],
    ['every job of the placed orders completed or failed', () => until(() => jobEnds() >= 2 * placed(), options.processTimeoutMs ?? 60_000)],
  ];
  try {
    for (const [name, done] of steps) {
      if (!(await done())) {
        timedOut = name;
        break;
      }
    }
    // A job run twice (a stalled re-run, a second consumer) shows up a little later: give it time to.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  } finally {
    await Promise.all(nodes.map((n) => n.stop(45_000)));
    await redis.stop();
  }
  const executions = files.flatMap((file) =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as OrderExecution) : [],
  );
  return { orders, nodes: nodes.map((n) => n.result()), executions, timedOut };
}

/** What went wrong in a run (empty when every order ran in FIFO exactly once and both nodes shut down cleanly). */
export function checkTwoNodeRun(run: TwoNodeRun): string[] {
  const problems: string[] = [];
  if (run.timedOut) problems.push(`timed out waiting for: ${run.timedOut}`);
  for (const node of run.nodes) {
    for (const line of node.stdout.split('\n').filter((l) => l.startsWith('@@error'))) problems.push(`${node.label}: ${line.slice(2)}`);
    for (const line of node.stderr.split('\n').filter((l) => / failed in /.test(l))) problems.push(`${node.label}: ${line}`);
    const exit = node.exit;
    if (!exit || !(exit.code === 0 || exit.signal === 'SIGTERM')) problems.push(`${node.label}: did not shut down cleanly on SIGTERM (exit ${JSON.stringify(exit)})`);
  }
  problems.push(...checkOrderExecutions(run.orders, run.executions));
  // One live worker per order across both nodes: the snippet's onReady line appears once per order in total.
  for (const order of run.orders) {
    const ready = run.nodes.flatMap((n) => n.stdout.split('\n').filter((l) => l === `Worker ${order.orderId}-worker is ready`).map(() => n.label));
    if (ready.length !== 1) problems.push(`order ${order.orderId}: ${ready.length} workers became ready (${ready.join(', ') || 'none'}), expected exactly 1`);
  }
  return problems;
}

/** Per node: workers started, jobs completed (from the snippet's logs), executions recorded. */
export function summarizeTwoNodeRun(run: TwoNodeRun): string {
  return run.nodes
    .map((n) => {
      const lines = n.stdout.split('\n');
      const ready = lines.filter((l) => /^Worker \S+ is ready$/.test(l)).length;
      const completed = lines.filter((l) => /^Job \S+ completed by /.test(l)).length;
      const executed = run.executions.filter((e) => e.node === n.label).length;
      return `${n.label}: ${ready} workers, ${completed} jobs completed, ${executed} executions, exit ${JSON.stringify(n.exit)}`;
    })
    .join('; ');
}
