// A fresh app per supported NestJS major, as its users set it up: NestJS 11 as a CommonJS app (no "type" in its
// package.json, tsc emitting require()), NestJS 12 as an ESM app. Each gets the packed tarball, the README's
// install lines for its major, the order-processing example (examples/order-processing, copied unchanged) and
// the glue of scripts/nest-versions/app/: the order flow on real Redis and a Test.createTestingModule test.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileApp, createAppDir, formatVersions, installedVersions, invalidPeers, npmInApp, type PeerProblem } from '../fresh-app/app-dir.js';
import { packedTarball, REPO_ROOT } from '../fresh-app/package-tarball.js';
import { cleanEnv, run, type RunResult } from '../fresh-app/process.js';
import { extractInstallCommands } from '../design-client/snippets.js';

const EXAMPLE_DIR = join(REPO_ROOT, 'examples/order-processing');
const GLUE_DIR = join(REPO_ROOT, 'scripts/nest-versions/app');
/** The README subsection whose first code block holds the install lines of a NestJS 11 (CommonJS) app. */
export const NEST11_README_HEADING = '### NestJS 11 and CommonJS apps';
const NEST_PACKAGES = ['@nestjs/common', '@nestjs/core', '@nestjs/cqrs', '@nestjs/platform-express', '@nestjs/testing'];
const INSTALLED_NAMES = ['@nestjs/atomic-queues', ...NEST_PACKAGES, 'bullmq', 'ioredis', 'ioredis-mock', 'fast-check', 'reflect-metadata', 'rxjs'];

export interface NestVersionVariant {
  label: string;
  nestMajor: 11 | 12;
  moduleSystem: 'commonjs' | 'esm';
  /** Where its install lines come from: a README heading (the first code block under it). */
  readmeHeading: string;
}

export const NEST_VERSION_VARIANTS: readonly NestVersionVariant[] = [
  { label: 'NestJS 11, CommonJS app (require(esm))', nestMajor: 11, moduleSystem: 'commonjs', readmeHeading: NEST11_README_HEADING },
  { label: 'NestJS 12, ESM app', nestMajor: 12, moduleSystem: 'esm', readmeHeading: '## Installation' },
];

/**
 * The app's tsconfig. Both keep `module: nodenext` (NestJS 11's starter uses it too): the package.json's "type"
 * decides, so the CommonJS app's imports compile to require() and the ESM app's stay imports.
 */
const APP_TSCONFIG = {
  compilerOptions: {
    target: 'es2023',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    skipLibCheck: true,
    rootDir: 'src',
    outDir: 'dist',
    types: ['node'],
  },
  include: ['src'],
};

export interface VersionApp {
  variant: NestVersionVariant;
  dir: string;
  installs: string[][];
  /** Installed version of each package (undefined: not installed). */
  versions: Record<string, string | undefined>;
  peerProblems: PeerProblem[];
  compile: RunResult;
  remove(): void;
}

/**
 * What the order example itself imports beyond the module (config, health probes, metrics, dashboard): the
 * versions this repository's own devDependencies pin, except the Nest-major-bound ones (pinned to the app's major).
 */
const EXAMPLE_PACKAGES = ['@nestjs/config', '@opentelemetry/api', '@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus', '@bull-board/api', '@bull-board/express', '@bull-board/nestjs'];
const EXAMPLE_NEST_BOUND = ['@nestjs/terminus', '@nestjs/bull-shared'];
function exampleDependencies(nestMajor: number): string[] {
  const dev = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
  return [
    ...EXAMPLE_PACKAGES.map((name) => {
      if (!dev[name]) throw new Error(`package.json devDependencies: ${name} (used by examples/order-processing) is missing`);
      return `${name}@${dev[name]}`;
    }),
    ...EXAMPLE_NEST_BOUND.map((name) => `${name}@^${nestMajor}.0.0`),
  ];
}

/** The install lines for a variant: the README's, the tarball in place of the name, then what the example and the app's tests need. */
export function installLines(variant: NestVersionVariant, readme: string, tarball: string): string[][] {
  const lines = extractInstallCommands(readme, variant.readmeHeading, `README.md "${variant.readmeHeading}"`);
  if (!lines[0]?.includes('@nestjs/atomic-queues')) {
    throw new Error(`README.md "${variant.readmeHeading}": the first install line "npm ${lines[0]?.join(' ')}" does not install @nestjs/atomic-queues`);
  }
  const named = new Set(lines.flat().map((arg) => arg.replace(/(.)@[^/]*$/, '$1')));
  const pin = (name: string) => `${name}@^${variant.nestMajor}.0.0`;
  const missing = (names: string[]) => names.filter((name) => !named.has(name.replace(/(.)@[^/]*$/, '$1')));
  const runtime = missing([pin('@nestjs/cqrs'), pin('@nestjs/platform-express'), ...exampleDependencies(variant.nestMajor)]);
  const dev = missing([pin('@nestjs/testing'), 'ioredis-mock', 'fast-check', '@types/node@^20.19.0']);
  return [
    lines[0].map((arg) => (arg === '@nestjs/atomic-queues' ? tarball : arg)),
    ...lines.slice(1),
    ...(runtime.length ? [['install', ...runtime]] : []),
    ...(dev.length ? [['install', '--save-dev', ...dev]] : []),
  ];
}

export async function createVersionApp(variant: NestVersionVariant, log: (line: string) => void, packageRoot = REPO_ROOT): Promise<VersionApp> {
  const root = mkdtempSync(join(tmpdir(), `aq-nest${variant.nestMajor}-`));
  const keep = process.env.AQ_NEST_VERSIONS_KEEP === '1';
  const remove = () => (keep ? log(`kept ${root}`) : rmSync(root, { recursive: true, force: true }));
  try {
    const tarball = await packedTarball(log, packageRoot);
    const dir = join(root, 'app');
    const name = `nest${variant.nestMajor}-${variant.moduleSystem}-app`;
    createAppDir(dir, variant.moduleSystem === 'esm' ? { name, private: true, type: 'module' } : { name, private: true });
    const installs = installLines(variant, readFileSync(join(packageRoot, 'README.md'), 'utf8'), tarball);
    for (const args of installs) await npmInApp(dir, args, log);
    const versions = installedVersions(dir, INSTALLED_NAMES);
    log(`installed: ${formatVersions(versions)}`);
    const peerProblems = await invalidPeers(dir);

    cpSync(EXAMPLE_DIR, join(dir, 'src/order-processing'), { recursive: true, filter: (src) => !src.endsWith('.md') });
    for (const file of readdirSync(GLUE_DIR)) cpSync(join(GLUE_DIR, file), join(dir, 'src', file));
    const compile = await compileApp(dir, APP_TSCONFIG, log);
    return { variant, dir, installs, versions, peerProblems, compile, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** The emitted order-flow script: `require(` calls in CommonJS output, `import` statements in ESM output. */
export function emittedModuleSystem(app: VersionApp): 'commonjs' | 'esm' | 'unknown' {
  const js = readFileSync(join(app.dir, 'dist/order-flow.js'), 'utf8');
  if (/\brequire\(["']@nestjs\/atomic-queues\/testing["']\)/.test(js)) return 'commonjs';
  if (/^import [^;]* from ["']@nestjs\/atomic-queues\/testing["'];$/m.test(js)) return 'esm';
  return 'unknown';
}

export interface FlowRun {
  result: RunResult;
  /** The `@@result` line's JSON, when the flow got that far. */
  flow?: { moduleSystem: string; nodes: string[]; orders: number; shipped: number; executions: number; problems: string[] };
  /** Set when the process did not exit after closing the apps: what kept it alive. */
  alive?: string;
}

/** Runs the compiled order flow (two example nodes in one process) against `redisUrl`. */
export async function runOrderFlow(app: VersionApp, redisUrl: string, orderCount: number): Promise<FlowRun> {
  const result = await run(process.execPath, ['dist/order-flow.js'], {
    cwd: app.dir,
    env: cleanEnv({ REDIS_URL: redisUrl, ORDER_COUNT: String(orderCount) }),
    timeoutMs: 120_000,
  });
  const lines = result.stdout.split('\n');
  const line = lines.find((l) => l.startsWith('@@result '));
  return { result, flow: line ? JSON.parse(line.slice('@@result '.length)) : undefined, alive: lines.find((l) => l.startsWith('@@alive '))?.slice(2) };
}

/** The app's Test.createTestingModule test, run with node:test on the compiled output. */
export function runAppTestingModuleTest(app: VersionApp): Promise<RunResult> {
  return run(process.execPath, ['--test', '--test-reporter=spec', 'dist/order-flow.test.js'], { cwd: app.dir, env: cleanEnv(), timeoutMs: 120_000 });
}
