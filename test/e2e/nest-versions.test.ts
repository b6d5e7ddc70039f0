// Issue 11, point 1: the package works on NestJS 11 and 12. For each, a fresh app installed from the packed
// tarball with the README's install lines (NestJS 11 as a CommonJS app that loads the ESM package through
// Node's require(esm), NestJS 12 as an ESM app) compiles the order-processing example unchanged, runs its flow
// on a real redis-server (two nodes, every order FIFO through its four steps, the history checkers green) and
// passes a Test.createTestingModule test with AtomicQueuesTestingModule plus a run of the property tools.
// Slow (two npm installs, two compiles): about 2.5 min on a quiet machine, more when the cores are shared.
// How the apps are built: test/e2e/nest-versions/version-app.ts; the glue: scripts/nest-versions/app/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServerHandle } from '../../testing/redis-server.js';
import { REPO_ROOT } from './fresh-app/package-tarball.js';
import {
  createVersionApp,
  emittedModuleSystem,
  NEST_VERSION_VARIANTS,
  runAppTestingModuleTest,
  runOrderFlow,
  type VersionApp,
} from './nest-versions/version-app.js';

const ORDER_COUNT = 12;
const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  peerDependencies: Record<string, string>;
};

describe('package.json declares what these tests prove', () => {
  it('NestJS peers accept 11 and 12; engines.node starts where require(esm) is unflagged (20.19, 22.12)', () => {
    for (const name of ['@nestjs/common', '@nestjs/core', '@nestjs/cqrs']) expect(packageJson.peerDependencies[name], name).toBe('^11.0.0 || ^12.0.0');
    expect(packageJson.engines.node).toBe('^20.19.0 || >=22.12.0');
  });
});

describe.each(NEST_VERSION_VARIANTS)('$label: a fresh app from the packed tarball', (variant) => {
  const log = (line: string) => console.log(`[nest${variant.nestMajor}] ${line}`);
  let app: VersionApp;

  beforeAll(async () => {
    // One app after the other: on a shared two-core machine two npm installs at once take longer than in turn.
    app = await createVersionApp(variant, log);
  }, 600_000);

  afterAll(() => app?.remove());

  it(`installs NestJS ${variant.nestMajor} inside the package's peer ranges`, () => {
    for (const name of ['@nestjs/common', '@nestjs/core', '@nestjs/cqrs', '@nestjs/testing']) {
      expect(app.versions[name]?.split('.')[0], `${name}@${app.versions[name]}`).toBe(String(variant.nestMajor));
    }
    expect(app.peerProblems, app.installs.map((args) => `npm ${args.join(' ')}`).join('\n')).toEqual([]);
  });

  it(`compiles the order example unchanged with the app's tsconfig, to ${variant.moduleSystem}`, () => {
    expect(app.compile.output).toBe('');
    expect(app.compile.code).toBe(0);
    expect(emittedModuleSystem(app)).toBe(variant.moduleSystem);
  });

  describe('on a real redis-server', () => {
    let redis: RedisServerHandle;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it(`runs the order flow: two nodes, ${ORDER_COUNT} orders, each validate → pay → reserve → ship, FIFO per entity`, async () => {
      const { result, flow, alive } = await runOrderFlow(app, redis.url, ORDER_COUNT);
      log(`order flow: exit ${result.code} (${result.ms} ms) ${JSON.stringify(flow)}`);
      expect(flow, result.output).toBeDefined();
      expect(flow!.problems).toEqual([]);
      expect(flow).toMatchObject({ moduleSystem: variant.moduleSystem, orders: ORDER_COUNT, shipped: ORDER_COUNT, executions: 4 * ORDER_COUNT });
      // Either node's cron may take an order; together they ran all of them.
      expect(flow!.nodes.length).toBeGreaterThan(0);
      expect(['node-a', 'node-b']).toEqual(expect.arrayContaining(flow!.nodes));
      expect(alive).toBeUndefined();
      expect(result.code, result.output).toBe(0);
    }, 180_000);
  });

  it('passes a Test.createTestingModule test with AtomicQueuesTestingModule, and the property tools (node --test)', async () => {
    const result = await runAppTestingModuleTest(app);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/ℹ pass 2\b/);
    expect(result.output).toMatch(/ℹ fail 0\b/);
  }, 150_000);
});
