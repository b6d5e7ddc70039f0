/**
 * Progress of a long run (chaos, load, bench, soak): scenario k/n, elapsed, jobs done, ETA.
 *
 * On a terminal (stdout is a TTY and CI is not set) one status line is redrawn in place, and log lines printed
 * through `log()` appear above it. Elsewhere (CI, a pipe, a file) nothing is redrawn: a plain progress line is
 * printed when each scenario starts and then every `plainEveryMs` while it runs, between the ordinary log lines.
 */

/** Where progress goes: process.stdout, or a test's stand-in. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** Prefix of every line: `chaos`, `load`, `bench`, `soak`. */
  label: string;
  /** Scenarios (phases, parts) the run will go through. */
  total: number;
  stream?: ProgressStream;
  env?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  /** Terminal: redraw period, ms. Default 250. */
  redrawMs?: number;
  /** Plain output: a progress line at most this often while a scenario runs, ms; 0 = only at each start. Default 30000. */
  plainEveryMs?: number;
  /** Starts no timer (a test calls `tick()` itself). */
  manualTicks?: boolean;
  /** Jobs completed so far over the whole run (read at every redraw), for runs with one counter for every scenario. */
  jobs?: () => number;
}

export interface ScenarioOptions {
  /** Expected length of the scenario (e.g. a load phase of fixed duration): its ETA counts down from it. */
  expectedMs?: number;
  /** Jobs the scenario will complete: its ETA follows the completion rate. */
  expectedJobs?: number;
  /** Jobs completed so far in this scenario; read at every redraw (see CompletedJobsCounter). */
  jobs?: () => number;
}

/** CI=true (or any value but '', '0', 'false'). */
export function isCi(env: Readonly<Record<string, string | undefined>>): boolean {
  const v = env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** A duration for people: 850ms, 3.1s, 2m05s, 1h02m. */
export function formatDuration(ms: number): string {
  const a = Math.max(0, ms);
  if (a < 1000) return `${Math.round(a)}ms`;
  if (a < 60_000) return `${(a / 1000).toFixed(1)}s`;
  const s = Math.floor(a / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

const CLEAR_LINE = '\r\x1b[2K';

/** A jobs source that cannot be read now (e.g. its file is not created yet) counts nothing. */
function read(source: () => number): number {
  try {
    return source();
  } catch {
    return 0;
  }
}

interface Current extends ScenarioOptions {
  index: number;
  name: string;
  startedAt: number;
  /** Run-wide jobs when it started. */
  jobsAtStart: number;
}

export class ProgressReporter {
  /** True when the status line is redrawn in place (a terminal, not CI). */
  readonly interactive: boolean;
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly startedAt: number;
  private readonly plainEveryMs: number;
  private current?: Current;
  private started = 0;
  /** Jobs of the scenarios already ended. */
  private jobsBefore = 0;
  private readonly durations: number[] = [];
  private timer?: NodeJS.Timeout;
  private lastPlainAt = 0;
  private shown = false;
  private stopped = false;

  constructor(private readonly opts: ProgressOptions) {
    if (!Number.isInteger(opts.total) || opts.total < 1) throw new Error(`ProgressReporter: total must be an integer >= 1 (got ${opts.total})`);
    this.stream = opts.stream ?? process.stdout;
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.plainEveryMs = opts.plainEveryMs ?? 30_000;
    this.interactive = Boolean(this.stream.isTTY) && !isCi(opts.env ?? process.env);
    if (!opts.manualTicks) {
      this.timer = setInterval(() => this.tick(), this.interactive ? (opts.redrawMs ?? 250) : 1000);
      this.timer.unref();
    }
  }

  /** Scenario k of n begins (k counts the calls). */
  startScenario(name: string, options: ScenarioOptions = {}): void {
    this.finishCurrent();
    this.started += 1;
    this.current = { ...options, index: Math.min(this.started, this.opts.total), name, startedAt: this.now(), jobsAtStart: this.jobsDone() };
    if (this.interactive) this.draw();
    else this.plain();
  }

  /** Where the current scenario's completed jobs come from, once known (e.g. after its run dir was made). */
  countJobs(jobs: () => number, expectedJobs?: number): void {
    if (!this.current) return;
    this.current.jobs = jobs;
    if (expectedJobs !== undefined) this.current.expectedJobs = expectedJobs;
  }

  /** The current scenario is over (its jobs stay counted). */
  endScenario(): void {
    this.finishCurrent();
    if (this.interactive) this.draw();
  }

  /** A log line: above the status line on a terminal, a plain line elsewhere. */
  log(message: string): void {
    if (this.interactive && this.shown) this.stream.write(CLEAR_LINE);
    this.stream.write(`${message}\n`);
    this.shown = false;
    if (this.interactive && !this.stopped) this.draw();
  }

  /** Redraw (terminal) or, when due, a plain progress line. The timer calls it. */
  tick(): void {
    if (this.stopped) return;
    if (this.interactive) this.draw();
    else if (this.current && this.plainEveryMs > 0 && this.now() - this.lastPlainAt >= this.plainEveryMs) this.plain();
  }

  /** Clears the status line and stops the timer. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.interactive && this.shown) this.stream.write(CLEAR_LINE);
    this.shown = false;
  }

  /** Jobs completed so far over the whole run. */
  jobsDone(): number {
    return this.opts.jobs ? read(this.opts.jobs) : this.jobsBefore + this.currentJobs();
  }

  /** Estimated time left, ms; undefined while nothing allows an estimate. */
  etaMs(): number | undefined {
    const c = this.current;
    if (!c) return this.started >= this.opts.total ? 0 : undefined;
    const elapsed = this.now() - c.startedAt;
    let left: number | undefined;
    if (c.expectedMs !== undefined) left = Math.max(0, c.expectedMs - elapsed);
    else if (c.expectedJobs !== undefined && c.expectedJobs > 0) {
      const done = this.currentJobs();
      if (done > 0) left = (elapsed * Math.max(0, c.expectedJobs - done)) / done;
    }
    const after = this.opts.total - c.index;
    if (after === 0) return left;
    const perScenario = this.durations.length > 0 ? this.durations.reduce((a, b) => a + b, 0) / this.durations.length : left !== undefined ? elapsed + left : undefined;
    if (perScenario === undefined) return undefined;
    return (left ?? Math.max(0, perScenario - elapsed)) + after * perScenario;
  }

  /** The status text: `chaos [2/7] node-kill | elapsed 1m05s | jobs 1200/3000 | ETA 2m10s`. */
  line(): string {
    const c = this.current;
    const head = c ? `${this.opts.label} [${c.index}/${this.opts.total}] ${c.name}` : `${this.opts.label} [${this.started}/${this.opts.total}]`;
    const jobs = `jobs ${this.jobsDone()}${c?.expectedJobs !== undefined ? ` (this scenario ${this.currentJobs()}/${c.expectedJobs})` : ''}`;
    const eta = this.etaMs();
    return `${head} | elapsed ${formatDuration(this.now() - this.startedAt)} | ${jobs} | ETA ${eta === undefined ? '?' : formatDuration(eta)}`;
  }

  /** Jobs of the current scenario: its own source, else the run-wide count since it started. */
  private currentJobs(): number {
    const c = this.current;
    if (!c) return 0;
    if (c.jobs) return read(c.jobs);
    return this.opts.jobs ? read(this.opts.jobs) - c.jobsAtStart : 0;
  }

  private finishCurrent(): void {
    if (!this.current) return;
    this.jobsBefore += this.currentJobs();
    this.durations.push(this.now() - this.current.startedAt);
    this.current = undefined;
  }

  private draw(): void {
    if (this.stopped) return;
    const width = Math.max(20, (this.stream.columns || 120) - 1); // 0 or unset: a terminal of unknown width
    const text = this.line();
    this.stream.write(`${CLEAR_LINE}${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
  }

  private plain(): void {
    this.lastPlainAt = this.now();
    this.stream.write(`${this.line()}\n`);
  }
}
