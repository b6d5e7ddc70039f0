/**
 * Environment parsing for cluster child processes (node app, producer). Bad values fail fast with an error
 * naming the variable, the value and what is accepted.
 */
export type Env = Record<string, string | undefined>;

export function envString(env: Env, name: string, fallback?: string): string {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new Error(`${name} is required (a non-empty string)`);
}

export function envInt(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name}="${raw}" is invalid; accepted values: an integer >= ${min}`);
  }
  return value;
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new Error(`${name}="${raw}" is invalid; accepted values: 1, true, 0, false`);
}

export function envJson<T>(env: Env, name: string, fallback: T, validate: (value: unknown) => T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${name} is not valid JSON (${(error as Error).message}): ${raw}`);
  }
  return validate(parsed);
}

/**
 * The launcher keeps a pipe on every child's stdin; when the launching process dies (even by SIGKILL) the pipe
 * closes and the child exits, so no node outlives its test. Does not keep the event loop alive.
 */
export function exitWithParent(code = 137): void {
  if (process.env.AQ_PARENT_PIPE !== '1') return;
  const stdin = process.stdin;
  stdin.on('end', () => process.exit(code));
  stdin.on('close', () => process.exit(code));
  stdin.on('error', () => process.exit(code));
  stdin.resume();
  (stdin as unknown as { unref?: () => void }).unref?.();
}
