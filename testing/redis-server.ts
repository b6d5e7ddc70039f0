import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private `redis-server` started from PATH on a free loopback port. Tests own it and may flush or kill it. */
export interface RedisServerHandle {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** SIGKILL the server (data is lost: it keeps nothing on disk). */
  kill(): Promise<void>;
  /** Start the server again on the same port after `kill()`. */
  restart(): Promise<void>;
  /** Stop the server and remove its working directory. */
  stop(): Promise<void>;
}

export interface StartRedisServerOptions {
  port?: number;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory-policy', 'noeviction']`. */
  args?: string[];
  binary?: string;
  startTimeoutMs?: number;
}

/** Finds a free TCP port on 127.0.0.1 by binding port 0. */
export function getFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      if (address === null || typeof address === 'string') {
        srv.close();
        reject(new Error('getFreePort: could not read the bound port'));
        return;
      }
      srv.close(() => resolve(address.port));
    });
  });
}

export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const port = options.port ?? (await getFreePort());
  const binary = options.binary ?? 'redis-server';
  const dir = mkdtempSync(join(tmpdir(), 'aq-redis-'));
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--maxmemory-policy', 'noeviction', '--protected-mode', 'no',
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`redis-server on port ${port} did not become ready within ${options.startTimeoutMs ?? 10_000} ms:\n${out}`));
      }, options.startTimeoutMs ?? 10_000);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not start ${binary} (is it on PATH?): ${err.message}`));
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with code ${code} before it was ready:\n${out}`));
      });
    });
  };

  const killNow = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill(signal);
    });

  await launch();
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    kill: () => killNow('SIGKILL'),
    restart: async () => {
      await killNow('SIGKILL');
      await launch();
    },
    stop: async () => {
      await killNow('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
