// A user's app in a temp dir: its package.json, npm installs as a user types them (the package from its
// tarball), what npm installed, and a compile with this project's TypeScript. Used by the design-client proof
// and by the NestJS versions proof (test/e2e/nest-versions.test.ts).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanEnv, run, runOk, type RunResult } from './process.js';
import { REPO_ROOT } from './package-tarball.js';

const TSC = join(REPO_ROOT, 'node_modules/.bin/tsc');
// --prefer-offline: reruns take packages from npm's cache (~/.npm) without asking the registry again.
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'];

/** Creates `dir` with `src/` and the given package.json. */
export function createAppDir(dir: string, packageJson: Record<string, unknown>): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
}

/** `npm <args>` in the app (outside this repository's npm environment); logs the command and its time. */
export async function npmInApp(dir: string, args: string[], log: (line: string) => void): Promise<RunResult> {
  const result = await runOk('npm', [...args, ...NPM_FLAGS], { cwd: dir, env: cleanEnv(), timeoutMs: 600_000 });
  log(`npm ${args.join(' ')} (${result.ms} ms)`);
  return result;
}

export interface PeerProblem {
  name: string;
  version: string;
  /** The package's peerDependencies range. */
  range: string;
}

/** Top-level packages `npm ls` calls invalid against @nestjs/atomic-queues' peer ranges. */
export async function invalidPeers(dir: string): Promise<PeerProblem[]> {
  const ls = await run('npm', ['ls', '--all', '--json'], { cwd: dir, env: cleanEnv(), timeoutMs: 120_000 });
  const { problems = [] } = JSON.parse(ls.stdout) as { problems?: string[] };
  const pkg = JSON.parse(readFileSync(join(dir, 'node_modules/@nestjs/atomic-queues/package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
  return problems.flatMap((problem) => {
    const m = /^invalid: (@?[^@\s]+)@(\S+) /.exec(problem);
    const range = m ? pkg.peerDependencies[m[1]] : undefined;
    return m && range ? [{ name: m[1], version: m[2], range }] : [];
  });
}

/** The installed version of each package (`name@x.y.z`, or `name (missing)`). */
export function installedVersions(dir: string, names: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(
    names.map((name) => {
      try {
        return [name, (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version];
      } catch {
        return [name, undefined];
      }
    }),
  );
}

export function formatVersions(versions: Record<string, string | undefined>): string {
  return Object.entries(versions)
    .map(([name, version]) => (version ? `${name}@${version}` : `${name} (missing)`))
    .join(' ');
}

/** Writes the app's tsconfig.json and runs tsc over it: code 0 and no output when everything type-checks. */
export async function compileApp(dir: string, tsconfig: Record<string, unknown>, log: (line: string) => void): Promise<RunResult> {
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  const compile = await run(TSC, ['-p', 'tsconfig.json'], { cwd: dir, timeoutMs: 180_000 });
  log(`tsc: exit ${compile.code} (${compile.ms} ms)${compile.output ? `\n${compile.output}` : ''}`);
  return compile;
}
