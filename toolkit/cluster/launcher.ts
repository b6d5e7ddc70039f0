import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Multi-process launcher for chaos, load and multi-process tests: starts compiled Node entry points
 * (`node dist/...js`, never tsx: Nest needs decorator metadata) as separate OS processes, captures their
 * output to files under a run dir, waits for readiness and lets a test kill, pause, resume and restart them.
 * Every child is registered so that it is SIGKILLed when the launching process exits, even after a failure.
 */

export type NodeSignal = 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT';
export const NODE_SIGNALS: readonly NodeSignal[] = ['SIGKILL', 'SIGTERM', 'SIGSTOP', 'SIGCONT'];

/** Line a node prints on stdout once it is bootstrapped. */
export const READY_MARKER = 'AQ_READY';

export type EnvValues = Record<string, string | number | boolean | undefined>;

/** How readiness is detected: a line on stdout (default `AQ_READY`), an HTTP 2xx on a path, or not at all. */
export type Readiness =
  | { kind: 'stdout'; marker?: string }
  | { kind: 'http'; path: string; port?: number }
  | { kind: 'none' };

export interface NodeConfig {
  /** Becomes NODE_ID; defaults to `node-${index + 1}`. */
  id?: string;
  /** Becomes REDIS_URL for this node (e.g. its own Toxiproxy listen address); defaults to the cluster's. */
  redisUrl?: string;
  /** Becomes PORT for this node (HTTP apps); also the default port of HTTP readiness. */
  httpPort?: number;
  /** Extra per-node environment, applied last. */
  env?: EnvValues;
}

export interface ProcessOptions {
  /** Compiled JavaScript entry point (absolute or relative to the cwd). */
  entry: string;
  /** Directory for `<id>.stdout.log` / `<id>.stderr.log`; created when missing. */
  runDir: string;
  args?: string[];
  execArgv?: string[];
  /** Common environment for every process (added to the launcher's own environment). */
  env?: EnvValues;
  /** Default REDIS_URL. */
  redisUrl?: string;
  readiness?: Readiness;
  /** Default 30 s (Nest apps on a busy 2-core machine can take 10 s and more to boot). */
  readyTimeoutMs?: number;
  cwd?: string;
}

export interface ClusterOptions extends ProcessOptions {
  /** Number of nodes, or one config per node. */
  nodes: number | NodeConfig[];
}

export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface NodeHandle {
  readonly id: string;
  readonly index: number;
  /** pid of the current incarnation (changes on restart). */
  readonly pid: number;
  /** Resolved environment the process was started with (NODE_ID, REDIS_URL, PORT, …). */
  readonly env: Readonly<Record<string, string>>;
  readonly stdoutPath: string;
  readonly stderrPath: string;
  /** Incarnation counter: 0 for the first start, +1 per restart. */
  readonly generation: number;
  readonly running: boolean;
  /** true between SIGSTOP and SIGCONT. */
  readonly paused: boolean;
  /** Sends a signal to the current process. Throws on an unknown signal name. */
  kill(signal?: NodeSignal): void;
  /** Resolves when the current incarnation has exited; rejects after `timeoutMs` (default 30 s). */
  waitExit(timeoutMs?: number): Promise<NodeExit>;
  /** SIGTERM (after SIGCONT when paused), then SIGKILL after `graceMs` (default 10 s). */
  stop(graceMs?: number): Promise<NodeExit>;
  /** Starts a new incarnation with the same environment (stopping the old one first with SIGKILL) and waits for readiness. */
  restart(overrides?: { env?: EnvValues }): Promise<void>;
  /** Resolves with the first stdout line of the current incarnation matching `pattern`. */
  waitForLine(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Calls `listener` with every stdout line from now on (all incarnations); returns the unsubscribe. */
  onStdoutLine(listener: (line: string) => void): () => void;
  /** Stdout lines of the current incarnation so far. */
  linesSoFar(): readonly string[];
  /** Writes one line to the process' stdin (the node app reads commands there, e.g. `race <epochMs>`). */
  send(line: string): void;
  /** Everything the node wrote to stdout / stderr so far (all incarnations). */
  stdout(): string;
  stderr(): string;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) {
      try {
        child.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/** Number of child processes started by this module that have not exited yet. */
export function liveProcessCount(): number {
  return live.size;
}

function toEnv(values: EnvValues | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values ?? {})) if (value !== undefined) out[key] = String(value);
  return out;
}

function assertSignal(signal: string): asserts signal is NodeSignal {
  if (!(NODE_SIGNALS as readonly string[]).includes(signal)) {
    throw new Error(`kill: unsupported signal "${signal}"; accepted values: ${NODE_SIGNALS.join(', ')}`);
  }
}

async function httpReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

class ManagedProcess implements NodeHandle {
  private child!: ChildProcess;
  private exitPromise!: Promise<NodeExit>;
  private readonly lineListeners = new Set<(line: string) => void>();
  private currentLines: string[] = [];
  /** Log files are written synchronously: they are complete whenever a test reads them, even after a crash. */
  private out: number | undefined;
  private err: number | undefined;
  private outText = '';
  private errText = '';
  private gen = -1;
  private isPaused = false;
  env: Record<string, string>;
  readonly stdoutPath: string;
  readonly stderrPath: string;

  constructor(
    readonly id: string,
    readonly index: number,
    env: Record<string, string>,
    private readonly opts: ProcessOptions,
  ) {
    this.env = env;
    mkdirSync(opts.runDir, { recursive: true });
    this.stdoutPath = join(opts.runDir, `${id}.stdout.log`);
    this.stderrPath = join(opts.runDir, `${id}.stderr.log`);
  }

  get pid(): number {
    return this.child?.pid ?? -1;
  }
  get generation(): number {
    return this.gen;
  }
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
  get paused(): boolean {
    return this.isPaused && this.running;
  }

  spawnProcess(): void {
    installExitHook();
    this.gen += 1;
    this.currentLines = [];
    this.isPaused = false;
    this.out ??= openSync(this.stdoutPath, 'a');
    this.err ??= openSync(this.stderrPath, 'a');
    const banner = `--- ${this.id} generation ${this.gen} at ${new Date().toISOString()} ---\n`;
    this.log(this.out, banner);
    this.log(this.err, banner);
    const child = spawn(process.execPath, [...(this.opts.execArgv ?? []), this.opts.entry, ...(this.opts.args ?? [])], {
      cwd: this.opts.cwd,
      env: { ...process.env, ...this.env },
      // stdin stays a pipe: children may exit when it closes (their parent died), see exitWithParent().
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    live.add(child);
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.log(this.out, text);
      this.outText += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      this.log(this.err, text);
      this.errText += text;
    });
    child.stdin!.on('error', () => undefined);
    this.exitPromise = new Promise<NodeExit>((resolve) => {
      child.once('exit', () => live.delete(child));
      // 'close' comes after 'exit' once stdout/stderr are drained: every line is seen before waitExit resolves.
      child.once('close', (code, signal) => {
        live.delete(child);
        if (pending) this.onLine(pending);
        resolve({ code, signal });
      });
      child.once('error', (error) => {
        live.delete(child);
        this.errText += `spawn error: ${error.message}\n`;
        resolve({ code: -1, signal: null });
      });
    });
  }

  private onLine(line: string): void {
    this.currentLines.push(line);
    for (const listener of [...this.lineListeners]) listener(line);
  }

  /** Calls `listener` with every stdout line of the current and later incarnations; returns the unsubscribe. */
  onStdoutLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => void this.lineListeners.delete(listener);
  }

  /** Lines the current incarnation has printed so far. */
  linesSoFar(): readonly string[] {
    return this.currentLines;
  }

  waitForLine(pattern: string | RegExp, timeoutMs = 20_000): Promise<string> {
    const test = lineTest(pattern);
    const seen = this.currentLines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      let settled = false;
      const done = () => {
        settled = true;
        clearTimeout(timer);
        unsubscribe();
      };
      const unsubscribe = this.onStdoutLine((line) => {
        if (settled || !test(line)) return;
        done();
        resolve(line);
      });
      const fail = (why: string) => {
        if (settled) return;
        done();
        reject(new Error(`${this.id}: ${why} while waiting for ${String(pattern)}\n${this.tail()}`));
      };
      const timer = setTimeout(() => fail(`no matching stdout line within ${timeoutMs} ms`), timeoutMs);
      void this.exitPromise.then((exit) => fail(`process exited (code ${exit.code}, signal ${exit.signal})`));
    });
  }

  async waitReady(): Promise<void> {
    const readiness = this.opts.readiness ?? { kind: 'stdout' };
    const timeoutMs = this.opts.readyTimeoutMs ?? 30_000;
    if (readiness.kind === 'none') return;
    if (readiness.kind === 'stdout') {
      await this.waitForLine(readiness.marker ?? READY_MARKER, timeoutMs);
      return;
    }
    const port = readiness.port ?? Number(this.env.PORT);
    if (!Number.isInteger(port) || port <= 0) {
      throw new Error(`${this.id}: HTTP readiness needs a port (NodeConfig.httpPort or readiness.port), got "${this.env.PORT}"`);
    }
    const url = `http://127.0.0.1:${port}${readiness.path}`;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.id}: exited before ${url} answered\n${this.tail()}`);
      if (await httpReady(url)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.id}: ${url} did not answer 2xx within ${timeoutMs} ms\n${this.tail()}`);
  }

  send(line: string): void {
    if (!this.running) throw new Error(`${this.id}: cannot send "${line}": the process is not running`);
    this.child.stdin!.write(`${line}\n`);
  }

  kill(signal: NodeSignal = 'SIGTERM'): void {
    assertSignal(signal);
    if (!this.running) return;
    this.child.kill(signal);
    if (signal === 'SIGSTOP') this.isPaused = true;
    if (signal === 'SIGCONT') this.isPaused = false;
  }

  waitExit(timeoutMs = 30_000): Promise<NodeExit> {
    return new Promise<NodeExit>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.id} (pid ${this.pid}) did not exit within ${timeoutMs} ms\n${this.tail()}`)),
        timeoutMs,
      );
      void this.exitPromise.then((exit) => {
        clearTimeout(timer);
        resolve(exit);
      });
    });
  }

  async stop(graceMs = 10_000): Promise<NodeExit> {
    if (!this.running) return this.exitPromise;
    if (this.isPaused) this.kill('SIGCONT');
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.running && this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exitPromise;
    clearTimeout(timer);
    return exit;
  }

  async restart(overrides?: { env?: EnvValues }): Promise<void> {
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.exitPromise;
    }
    if (overrides?.env) this.env = { ...this.env, ...toEnv(overrides.env) };
    this.spawnProcess();
    await this.waitReady();
  }

  stdout(): string {
    return this.outText;
  }
  stderr(): string {
    return this.errText;
  }

  tail(lines = 30): string {
    const last = (s: string) => s.split('\n').slice(-lines).join('\n');
    return `--- ${this.id} stdout (${this.stdoutPath}) ---\n${last(this.outText)}\n--- ${this.id} stderr ---\n${last(this.errText)}`;
  }

  private log(fd: number | undefined, text: string): void {
    if (fd !== undefined) writeSync(fd, text);
  }

  /** Closes the log files once the process has exited (output still arriving is kept in memory only). */
  async closeLogs(): Promise<void> {
    if (this.running) await this.exitPromise;
    for (const fd of [this.out, this.err]) if (fd !== undefined) closeSync(fd);
    this.out = this.err = undefined;
  }
}

const lineTest = (pattern: string | RegExp) => (line: string) =>
  typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line);

function nodeConfigs(nodes: number | NodeConfig[]): NodeConfig[] {
  if (typeof nodes === 'number') {
    if (!Number.isInteger(nodes) || nodes < 1) throw new Error(`startCluster: nodes must be an integer >= 1 or a NodeConfig[], got ${nodes}`);
    return Array.from({ length: nodes }, () => ({}));
  }
  if (nodes.length === 0) throw new Error('startCluster: nodes must not be empty');
  return nodes;
}

function resolveEnv(index: number, id: string, config: NodeConfig, opts: ProcessOptions): Record<string, string> {
  const redisUrl = config.redisUrl ?? opts.redisUrl;
  return toEnv({
    AQ_PARENT_PIPE: 1,
    ...opts.env,
    NODE_ID: id,
    ...(redisUrl !== undefined ? { REDIS_URL: redisUrl } : {}),
    ...(config.httpPort !== undefined ? { PORT: config.httpPort } : {}),
    ...config.env,
  });
}

/** A set of node processes of one entry point. */
export class ClusterLauncher {
  readonly nodes: NodeHandle[];
  private readonly procs: ManagedProcess[];

  private constructor(procs: ManagedProcess[]) {
    this.procs = procs;
    this.nodes = procs;
  }

  /** Spawns every node in parallel and waits until all are ready; on failure everything started is killed. */
  static async start(options: ClusterOptions): Promise<ClusterLauncher> {
    const configs = nodeConfigs(options.nodes);
    const ids = configs.map((c, i) => c.id ?? `node-${i + 1}`);
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup) throw new Error(`startCluster: duplicate node id "${dup}"`);
    const procs = configs.map((c, i) => new ManagedProcess(ids[i]!, i, resolveEnv(i, ids[i]!, c, options), options));
    const cluster = new ClusterLauncher(procs);
    try {
      for (const p of procs) p.spawnProcess();
      await Promise.all(procs.map((p) => p.waitReady()));
    } catch (error) {
      await cluster.stopAll({ graceMs: 0 });
      throw error;
    }
    return cluster;
  }

  node(id: string): NodeHandle {
    const found = this.nodes.find((n) => n.id === id);
    if (!found) throw new Error(`unknown node "${id}"; nodes: ${this.nodes.map((n) => n.id).join(', ')}`);
    return found;
  }

  /**
   * Resolves with the first node (and line) whose stdout shows a line matching `pattern`, lines already printed by
   * the current incarnations included; rejects after `timeoutMs` (default 20 s).
   */
  waitForAnyLine(pattern: string | RegExp, timeoutMs = 20_000): Promise<{ node: NodeHandle; line: string }> {
    const test = lineTest(pattern);
    for (const p of this.procs) {
      const seen = p.linesSoFar().find(test);
      if (seen !== undefined) return Promise.resolve({ node: p, line: seen });
    }
    return new Promise((resolve, reject) => {
      const unsubscribes = this.procs.map((p) =>
        p.onStdoutLine((line) => {
          if (!test(line)) return;
          finish();
          resolve({ node: p, line });
        }),
      );
      const finish = () => {
        clearTimeout(timer);
        for (const u of unsubscribes) u();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no node printed a line matching ${String(pattern)} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  /** Stops every running node (SIGTERM, SIGKILL after graceMs; graceMs 0 = SIGKILL at once) and closes the log files. */
  async stopAll(options: { graceMs?: number } = {}): Promise<NodeExit[]> {
    const grace = options.graceMs ?? 10_000;
    const exits = await Promise.all(
      this.procs.map(async (p) => {
        if (grace === 0 && p.running) p.kill('SIGKILL');
        return p.stop(grace);
      }),
    );
    await Promise.all(this.procs.map((p) => p.closeLogs()));
    return exits;
  }
}

export function startCluster(options: ClusterOptions): Promise<ClusterLauncher> {
  return ClusterLauncher.start(options);
}

export interface RunProcessOptions extends ProcessOptions {
  /** Used for the log file names and NODE_ID; default `process`. */
  id?: string;
  /** Kill and reject after this long; default 60 s. */
  timeoutMs?: number;
}

/**
 * Runs one process to completion (e.g. a producer) and resolves with its exit; rejects with the output tail
 * on a non-zero exit or a timeout.
 */
export async function runProcess(options: RunProcessOptions): Promise<NodeExit & { stdout: string }> {
  const id = options.id ?? 'process';
  const proc = new ManagedProcess(id, 0, resolveEnv(0, id, {}, options), options);
  proc.spawnProcess();
  try {
    const exit = await proc.waitExit(options.timeoutMs ?? 60_000);
    if (exit.code !== 0) throw new Error(`${id} exited with code ${exit.code}, signal ${exit.signal}\n${proc.tail()}`);
    return { ...exit, stdout: proc.stdout() };
  } finally {
    if (proc.running) proc.kill('SIGKILL');
    await proc.closeLogs();
  }
}
