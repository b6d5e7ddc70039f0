import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { getFreePort } from '@nestjs/atomic-queues/testing';
import { Toxiproxy } from 'toxiproxy-node-client';

/**
 * The real Toxiproxy server (v2.12.0, installed by scripts/install-toxiproxy.sh into <repo>/.bin), started on a
 * free loopback port for one chaos run and stopped at its end. Controlled through toxiproxy-node-client.
 */
export interface ToxiproxyServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly client: Toxiproxy;
  readonly version: string;
  stop(): Promise<void>;
}

export interface StartToxiproxyOptions {
  /** Path of the server binary; default `$TOXIPROXY_SERVER` or `<cwd>/.bin/toxiproxy-server`. */
  binary?: string;
  port?: number;
  /** File receiving the server's output; default: discarded. */
  logFile?: string;
  startTimeoutMs?: number;
}

export function defaultToxiproxyBinary(cwd = process.cwd()): string {
  return process.env.TOXIPROXY_SERVER ?? resolve(cwd, '.bin', 'toxiproxy-server');
}

async function fetchVersion(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/version`, { signal: AbortSignal.timeout(500) });
    if (!res.ok) return undefined;
    // v2.12.0 answers {"version": "2.12.0"}; older servers answer the bare version.
    const text = (await res.text()).trim();
    try {
      const parsed = JSON.parse(text) as { version?: unknown };
      if (typeof parsed.version === 'string') return parsed.version;
    } catch {
      /* plain text */
    }
    return text;
  } catch {
    return undefined;
  }
}

export async function startToxiproxy(options: StartToxiproxyOptions = {}): Promise<ToxiproxyServer> {
  const binary = options.binary ?? defaultToxiproxyBinary();
  if (!existsSync(binary)) {
    throw new Error(`toxiproxy-server not found at ${binary}; run \`bash scripts/install-toxiproxy.sh\` (or set TOXIPROXY_SERVER)`);
  }
  const port = options.port ?? (await getFreePort());
  const child: ChildProcess = spawn(binary, ['-host', '127.0.0.1', '-port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const kill = () => child.kill('SIGKILL');
  // Registered before anything can fail, so the server never outlives the runner.
  process.once('exit', kill);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let early = '';
  if (options.logFile) mkdirSync(dirname(options.logFile), { recursive: true });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  log?.on('error', () => undefined); // a log that cannot be written must not crash the run
  const sink = (chunk: Buffer) => {
    if (early.length < 4000) early += chunk.toString();
    log?.write(chunk);
  };
  child.stdout?.on('data', sink);
  child.stderr?.on('data', sink);

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 10_000);
  let version: string | undefined;
  while (version === undefined) {
    if (child.exitCode !== null || child.signalCode !== null) {
      process.off('exit', kill);
      throw new Error(`toxiproxy-server exited (code ${child.exitCode}, signal ${child.signalCode}) before answering on ${url}:\n${early}`);
    }
    if (Date.now() > deadline) {
      process.off('exit', kill);
      kill();
      throw new Error(`toxiproxy-server did not answer ${url}/version within ${options.startTimeoutMs ?? 10_000} ms:\n${early}`);
    }
    version = await fetchVersion(url);
    if (version === undefined) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    pid: child.pid ?? -1,
    client: new Toxiproxy(url),
    version,
    stop: async () => {
      process.off('exit', kill);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(kill, 3000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((r) => (log ? log.end(r) : r()));
    },
  };
}

/** Where a run keeps the Toxiproxy log. */
export const toxiproxyLogPath = (runDir: string): string => join(runDir, 'toxiproxy.log');
