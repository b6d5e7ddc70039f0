import { spawn } from 'node:child_process';

export interface RunResult {
  command: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved. */
  output: string;
  stdout: string;
  ms: number;
}

/**
 * The environment for tools run in the fresh app: this process's, without what `npm test` adds for the
 * repository (npm_package_*, npm_config_local_prefix, …), which would point npm back at the repository.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.toLowerCase().startsWith('npm_') && !keep.has(key.toLowerCase())) continue;
    if (key === 'INIT_CWD' || key === 'VITEST' || key.startsWith('VITEST_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end (stdout and stderr interleaved in `output`); kills it after `timeoutMs`. */
export function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  const started = Date.now();
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => ((output += c.toString()), (stdout += c.toString())));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      output += `\n[killed: still running after ${options.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${command} in ${options.cwd}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ command, code, signal, output, stdout, ms: Date.now() - started });
    });
  });
}

/** Like run, but a non-zero exit is an error that shows the command's output. */
export async function runOk(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  const result = await run(file, args, options);
  if (result.code !== 0) {
    throw new Error(`${result.command} (in ${options.cwd}) exited with ${result.code ?? result.signal}:\n${result.output.slice(-6000)}`);
  }
  return result;
}
