// Builds the client a new user would write from the design document: the package packed to a tarball, a fresh
// app in a temp dir, the README's install lines (the design's when the README has none), the design's snippets
// written VERBATIM (only the glue a user must add beside them: missing imports, the commands, a module listing the
// providers, a main.ts), compiled with this project's TypeScript.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractInstallCommands, extractSnippet } from './snippets.js';
import { compileApp, createAppDir, formatVersions, installedVersions, invalidPeers, npmInApp, type PeerProblem } from '../fresh-app/app-dir.js';
import { packedTarball, REPO_ROOT } from '../fresh-app/package-tarball.js';
import { cleanEnv, run, type RunResult } from '../fresh-app/process.js';

export { REPO_ROOT };
/** The design document, vendored from ../shared/design/ so a clean clone has it (design-client.test.ts compares them). */
export const DESIGN_PATH = process.env.AQ_DESIGN_PATH ?? join(REPO_ROOT, 'docs/design/atomic-queues-design.md');
/** The glue files (a user's own code beside the snippets). */
const GLUE_DIR = join(REPO_ROOT, 'scripts/design-client/app');

/**
 * Each snippet becomes one source file, byte for byte, after the imports it uses but does not write (a user adds
 * them when the compiler asks). Snippet 1 (forRoot on localhost:6379) is compiled, never run.
 */
export const SNIPPET_FILES = [
  { heading: '### 1. Import the Module', file: 'quick-start.module.ts', missingImports: [] },
  { heading: '### 2. Async Configuration', file: 'app.module.ts', missingImports: [] },
  {
    heading: '### 3. Register Job Processors',
    file: 'job-processors.ts',
    missingImports: [`import { Job } from 'bullmq';`, `import { ProcessPaymentCommand, ValidateOrderCommand } from './commands.js';`],
  },
  { heading: '### 4. Queue Jobs', file: 'order.service.ts', missingImports: [] },
  { heading: '### 5. Create Workers', file: 'order-worker.service.ts', missingImports: [] },
] as const;

/**
 * The "Core Services" and "Graceful Shutdown" snippets are statements on services a user's class has injected:
 * each is compiled inside a function with those services in scope (the glue), never run.
 */
export const FRAGMENT_FILES = [
  { heading: '### QueueManagerService', file: 'core-queue-manager.ts' },
  { heading: '### WorkerManagerService', file: 'core-worker-manager.ts' },
  { heading: '### ResourceLockService', file: 'core-resource-lock.ts' },
  { heading: '### CronManagerService', file: 'core-cron-manager.ts' },
  { heading: '### IndexManagerService', file: 'core-index-manager.ts' },
  { heading: '## Graceful Shutdown', file: 'core-graceful-shutdown.ts' },
] as const;

const FRAGMENT_SCOPE = `import { CronManagerService, IndexManagerService, QueueManagerService, ResourceLockService, WorkerManagerService } from '@nestjs/atomic-queues';
import { OrderWorkerService } from './order-worker.service.js';

declare const queueManager: QueueManagerService;
declare const workerManager: WorkerManagerService;
declare const lockService: ResourceLockService;
declare const cronManager: CronManagerService;
declare const indexManager: IndexManagerService;
declare const orderWorkerService: OrderWorkerService;

export async function snippet(): Promise<void> {
`;

/** tsc's errors by file (`src/x.ts`, continuation lines included); other output under `(tsc)`. */
export function compileErrorsByFile(output: string): Map<string, string[]> {
  const byFile = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    if (!line.trim()) continue;
    const file = /^(\S+?\.ts)\(\d+,\d+\): error /.exec(line)?.[1];
    if (!file && current && line.startsWith(' ')) {
      current[current.length - 1] += `\n${line}`;
      continue;
    }
    const key = file ?? '(tsc)';
    current = [...(byFile.get(key) ?? []), line];
    byFile.set(key, current);
  }
  return byFile;
}

/**
 * Installed after the README's install lines when they leave them out: what the snippets import (CQRS, config),
 * and for the tests what Test.createTestingModule needs.
 */
export const SNIPPET_PACKAGES = ['@nestjs/cqrs', '@nestjs/config'];
export const TEST_PACKAGES = ['@nestjs/testing', '@types/node'];
/** Install lines made only of these are skipped: plain tests must not need fast-check (property checks only). */
export const PROPERTY_ONLY_PACKAGES = ['fast-check'];

const APP_TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    rootDir: 'src',
    outDir: 'dist',
    types: ['node'],
  },
  include: ['src'],
};

const INSTALLED_NAMES = ['@nestjs/atomic-queues', '@nestjs/common', '@nestjs/core', '@nestjs/cqrs', '@nestjs/config', '@nestjs/testing', 'bullmq', 'ioredis', 'ioredis-mock'];

export type { PeerProblem };

export interface FreshApp {
  /** Temp dir holding the app (`app/`). */
  root: string;
  dir: string;
  tarball: string;
  /** Where the install lines come from: the README in the tarball when it has "## Installation", else the design. */
  installSource: string;
  /** The install commands as run (argv after `npm`). */
  installs: string[][];
  /** Packages the first install line installed outside the package's peer ranges (then reinstalled in range). */
  peerProblems: PeerProblem[];
  /** tsc over the app: code 0 and no output when every snippet type-checks. The JS is emitted either way. */
  compile: RunResult;
  log: string[];
  remove(): void;
}

export interface FreshAppOptions {
  designPath?: string;
  /** The source tree packed (default this repository; also AQ_DESIGN_CLIENT_PACKAGE, e.g. another worktree). */
  packageRoot?: string;
  /** Keep the temp dir (also with AQ_DESIGN_CLIENT_KEEP=1). */
  keep?: boolean;
  log?: (line: string) => void;
}

export async function createFreshApp(options: FreshAppOptions = {}): Promise<FreshApp> {
  const logLines: string[] = [];
  const log = (line: string) => {
    logLines.push(line);
    options.log?.(line);
  };
  const designPath = options.designPath ?? DESIGN_PATH;
  const design = readFileSync(designPath, 'utf8');
  const root = mkdtempSync(join(tmpdir(), 'aq-design-client-'));
  const keep = options.keep ?? process.env.AQ_DESIGN_CLIENT_KEEP === '1';
  const remove = () => (keep ? log(`kept ${root}`) : rmSync(root, { recursive: true, force: true }));
  try {
    // Read everything from the design first: a missing heading fails before any install.
    const snippets = SNIPPET_FILES.map((s) => ({ ...s, code: extractSnippet(design, s.heading, designPath) }));
    const fragments = FRAGMENT_FILES.map((s) => ({ ...s, code: extractSnippet(design, s.heading, designPath) }));
    const packageRoot = options.packageRoot ?? process.env.AQ_DESIGN_CLIENT_PACKAGE ?? REPO_ROOT;
    const tarball = await packedTarball(log, packageRoot);
    const dir = join(root, 'app');
    createAppDir(dir, { name: 'design-client', private: true, type: 'module' });

    // The install lines of the README in the tarball (what a user reads on npm), else the design's; the tarball
    // in place of the registry name; then what they leave out.
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const fromReadme = /^## Installation\s*$/m.test(readme);
    const installSource = fromReadme ? 'README.md (in the tarball)' : designPath;
    const lines = extractInstallCommands(fromReadme ? readme : design, '## Installation', installSource).filter(
      (args) => !args.filter((a) => !a.startsWith('-') && a !== 'install' && a !== 'i').every((name) => PROPERTY_ONLY_PACKAGES.includes(name)),
    );
    if (!lines[0]?.includes('@nestjs/atomic-queues')) {
      throw new Error(`${installSource}: the first install line "npm ${lines[0]?.join(' ')}" does not install @nestjs/atomic-queues`);
    }
    const named = new Set(lines.flat());
    const missing = (names: string[]) => names.filter((name) => !named.has(name));
    const installs = [
      lines[0].map((arg) => (arg === '@nestjs/atomic-queues' ? tarball : arg)),
      ...lines.slice(1),
      ...(missing(SNIPPET_PACKAGES).length ? [['install', ...missing(SNIPPET_PACKAGES)]] : []),
      ...(missing(TEST_PACKAGES).length ? [['install', '--save-dev', ...missing(TEST_PACKAGES)]] : []),
    ];
    const npm = (args: string[]) => npmInApp(dir, args, log);
    log(`install lines from ${installSource}`);
    await npm(installs[0]);
    // npm lets an unpinned line install a peer outside the package's range (it reports it only in `npm ls`, and
    // refuses later installs). Record that, then install the range the package declares, as npm's error tells a user to.
    const peerProblems = await invalidPeers(dir);
    if (peerProblems.length) {
      log(`the first install line left invalid peers: ${peerProblems.map((p) => `${p.name}@${p.version} (package wants ${p.range})`).join(', ')}`);
      installs.splice(1, 0, ['install', ...peerProblems.map((p) => `${p.name}@${p.range}`)]);
    }
    for (const args of installs.slice(1)) await npm(args);
    log(`installed: ${formatVersions(installedVersions(dir, INSTALLED_NAMES))}`);

    for (const s of snippets) {
      const glue = s.missingImports.length ? `${s.missingImports.join('\n')}\n` : '';
      writeFileSync(join(dir, 'src', s.file), glue + s.code);
    }
    for (const f of fragments) writeFileSync(join(dir, 'src', f.file), `${FRAGMENT_SCOPE}${f.code}}\n`);
    for (const file of readdirSync(GLUE_DIR)) copyFileSync(join(GLUE_DIR, file), join(dir, 'src', file));
    const compile = await compileApp(dir, APP_TSCONFIG, log);
    return { root, dir, tarball, installSource, installs, peerProblems, compile, log: logLines, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** The app's own test (the testing-module equivalent), run with node:test on the compiled output. */
export function runAppTests(app: FreshApp): Promise<RunResult> {
  return run(process.execPath, ['--test', '--test-reporter=spec', 'dist/order-flow.test.js'], { cwd: app.dir, env: cleanEnv(), timeoutMs: 180_000 });
}
