import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const OPTIONAL = ['ioredis-mock', 'fast-check', '@opentelemetry/api', '@nestjs/terminus'];

/**
 * The built package as a user's project sees it: dist/src + dist/testing + package.json copied (not linked, so
 * Node resolves from the copy) into <tmp>/node_modules/@nestjs/atomic-queues, every other installed package
 * linked beside it except the optional peers, which each test links in as needed.
 */
let project: string;
const modules = () => join(project, 'node_modules');

function importEach(specifiers: string[]): Record<string, { ok: boolean; error?: string; message?: string; exports?: string[] }> {
  const code = `
    const out = {};
    for (const spec of ${JSON.stringify(specifiers)}) {
      try { out[spec] = { ok: true, exports: Object.keys(await import(spec)) }; }
      catch (e) { out[spec] = { ok: false, error: e.name, message: e.message }; }
    }
    process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: project, encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0) throw new Error(`node exited with ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

/** What `AtomicQueuesHealthModule.forRoot()` does in the project: the module it returns, or the error. */
function healthModule(): { ok: boolean; error?: string; message?: string; imports?: string[] } {
  const code = `
    import { AtomicQueuesHealthModule } from '@nestjs/atomic-queues';
    let out;
    try { const m = await AtomicQueuesHealthModule.forRoot(); out = { ok: true, imports: m.imports.map((i) => i.name) }; }
    catch (e) { out = { ok: false, error: e.name, message: e.message }; }
    process.stdout.write(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: project, encoding: 'utf8', timeout: 60_000 });
  if (child.status !== 0) throw new Error(`node exited with ${child.status}: ${child.stderr}`);
  return JSON.parse(child.stdout);
}

describe('the built package without its optional peer dependencies (plain node, dist/)', () => {
  beforeAll(() => {
    // `npm test` builds dist/ once before vitest starts.
    if (!existsSync(join(root, 'dist/testing/index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does) first');
    project = mkdtempSync(join(tmpdir(), 'aq-install-'));
    const pkg = join(modules(), '@nestjs/atomic-queues');
    mkdirSync(pkg, { recursive: true });
    cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
    cpSync(join(root, 'dist/src'), join(pkg, 'dist/src'), { recursive: true });
    cpSync(join(root, 'dist/testing'), join(pkg, 'dist/testing'), { recursive: true });
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name.startsWith('.') || OPTIONAL.includes(name)) continue;
      if (name.startsWith('@')) {
        for (const sub of readdirSync(join(root, 'node_modules', name))) {
          if (`${name}/${sub}` === '@nestjs/atomic-queues' || OPTIONAL.includes(`${name}/${sub}`)) continue;
          mkdirSync(join(modules(), name), { recursive: true });
          symlinkSync(join(root, 'node_modules', name, sub), join(modules(), name, sub));
        }
      } else symlinkSync(join(root, 'node_modules', name), join(modules(), name));
    }
  });
  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('without ioredis-mock: the module loads, /testing fails naming the package and the install command', () => {
    const out = importEach(['@nestjs/atomic-queues', '@nestjs/atomic-queues/testing']);
    expect(out['@nestjs/atomic-queues'].ok).toBe(true);
    expect(out['@nestjs/atomic-queues/testing']).toEqual({
      ok: false,
      error: 'MissingPeerDependencyError',
      message:
        "@nestjs/atomic-queues/testing needs the package 'ioredis-mock' (the in-memory Redis of the testing module; install it as a dev dependency), which is not installed. Install it: npm install -D ioredis-mock",
    });
  });

  it('with ioredis-mock but without fast-check: /testing works, /testing/property fails naming fast-check', () => {
    symlinkSync(join(root, 'node_modules/ioredis-mock'), join(modules(), 'ioredis-mock'));
    const out = importEach(['@nestjs/atomic-queues/testing', '@nestjs/atomic-queues/testing/property']);
    expect(out['@nestjs/atomic-queues/testing'].ok).toBe(true);
    expect(out['@nestjs/atomic-queues/testing'].exports).toContain('AtomicQueuesTestingModule');
    expect(out['@nestjs/atomic-queues/testing/property']).toMatchObject({
      ok: false,
      error: 'MissingPeerDependencyError',
      message: expect.stringMatching(/^@nestjs\/atomic-queues\/testing\/property needs the package 'fast-check' .* Install it: npm install -D fast-check$/),
    });

    symlinkSync(join(root, 'node_modules/fast-check'), join(modules(), 'fast-check'));
    const all = importEach(['@nestjs/atomic-queues/testing/property']);
    expect(all['@nestjs/atomic-queues/testing/property'].exports).toEqual(expect.arrayContaining(['assertAtomicQueueGuarantees', 'createTestingModuleSystem']));
  });

  it('without @opentelemetry/api: telemetry off boots; telemetry on fails at bootstrap naming `npm install @opentelemetry/api`', () => {
    const boot = (telemetry: string) => `
      import 'reflect-metadata';
      import { Test } from '@nestjs/testing';
      import { AtomicQueuesTestingModule } from '@nestjs/atomic-queues/testing';
      try {
        const app = await Test.createTestingModule({ imports: [AtomicQueuesTestingModule.forRoot({ ${telemetry} })] }).compile();
        await app.close();
        process.stdout.write(JSON.stringify({ ok: true }));
      } catch (e) {
        process.stdout.write(JSON.stringify({ ok: false, error: e.name, message: e.message, installCommand: e.installCommand }));
      }`;
    const run = (telemetry: string) => {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', boot(telemetry)], { cwd: project, encoding: 'utf8', timeout: 60_000 });
      if (child.status !== 0) throw new Error(`node exited with ${child.status}: ${child.stderr}`);
      return JSON.parse(child.stdout);
    };
    expect(run('')).toEqual({ ok: true });
    expect(run('telemetry: { enabled: false }')).toEqual({ ok: true });
    expect(run('telemetry: {}')).toEqual({
      ok: false,
      error: 'MissingPeerDependencyError',
      message:
        "AtomicQueuesModule telemetry needs the package '@opentelemetry/api' (OpenTelemetry spans and metrics; or set telemetry.enabled: false), which is not installed. Install it: npm install @opentelemetry/api",
      installCommand: 'npm install @opentelemetry/api',
    });
  });

  it('without @nestjs/terminus: the module loads, AtomicQueuesHealthModule.forRoot() fails naming it; with it, it works', () => {
    expect(healthModule()).toEqual({
      ok: false,
      error: 'MissingPeerDependencyError',
      message:
        "AtomicQueuesHealthModule needs the package '@nestjs/terminus' (the health indicator for liveness and readiness probes), which is not installed. Install it: npm install @nestjs/terminus",
    });
    symlinkSync(join(root, 'node_modules/@nestjs/terminus'), join(modules(), '@nestjs/terminus'));
    expect(healthModule()).toEqual({ ok: true, imports: ['TerminusModule'] });
  });

  it("the package's types never import @nestjs/terminus (apps without it type-check with skipLibCheck off)", () => {
    const dts = (readdirSync(join(root, 'dist/src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.d.ts'));
    expect(dts.length).toBeGreaterThan(10);
    const leaking = dts.filter((f) => /(from\s+|import\()['"]@nestjs\/terminus['"]/.test(readFileSync(join(root, 'dist/src', f), 'utf8')));
    expect(leaking).toEqual([]);
  });
});
