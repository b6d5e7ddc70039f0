// Issue 8's "done when": a client written from the design document alone (its snippets verbatim, the package
// installed from its tarball) processes every order in FIFO on two node processes, and the testing-module
// equivalent passes under Test.createTestingModule. Slow (npm install, tsc, two Nest processes): 1–3 min.
// How the app is built: test/e2e/design-client/fresh-app.ts; the user's glue: scripts/design-client/app/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileErrorsByFile, createFreshApp, DESIGN_PATH, FRAGMENT_FILES, REPO_ROOT, runAppTests, type FreshApp } from './design-client/fresh-app.js';
import { checkTwoNodeRun, runTwoNodes, summarizeTwoNodeRun } from './design-client/two-nodes.js';

const SHARED_DESIGN = join(REPO_ROOT, '../shared/design/atomic-queues-design.md');
const log = (line: string) => console.log(`[design-client] ${line}`);

describe('a client written from the design document alone (packed tarball, fresh app, snippets verbatim)', () => {
  let app: FreshApp;

  beforeAll(async () => {
    app = await createFreshApp({ log });
  }, 900_000);

  afterAll(() => app?.remove());

  it("the README's install line installs versions inside the package's peer ranges", () => {
    // An unpinned name takes the latest version, which may be outside the range the package declares.
    expect(app.peerProblems, `npm ${app.installs[0].join(' ')} (from ${app.installSource})`).toEqual([]);
  });

  // tsc over the fresh app: strict, experimentalDecorators, emitDecoratorMetadata. The JS is emitted either way.
  const errors = (files: (file: string) => boolean) =>
    [...compileErrorsByFile(app.compile.output)].filter(([file]) => files(file)).flatMap(([, lines]) => lines);
  const isFragment = (file: string) => FRAGMENT_FILES.some((f) => file === `src/${f.file}`);

  it('the Quick Start snippets (1–5) and the glue type-check', () => {
    expect(errors((file) => !isFragment(file))).toEqual([]);
  });

  it('the Core Services and Graceful Shutdown snippets type-check (with the services in scope)', () => {
    expect(errors(isFragment)).toEqual([]);
    expect(app.compile.code).toBe(0);
  });

  it('two node processes: every order runs validate-order then process-payment, once each, one worker per order', async () => {
    const run = await runTwoNodes(app.dir, { orderCount: 20 });
    log(summarizeTwoNodeRun(run));
    expect(checkTwoNodeRun(run)).toEqual([]);
  }, 300_000);

  it('the testing-module equivalent passes under Test.createTestingModule (node --test in the fresh app)', async () => {
    const result = await runAppTests(app);
    expect(result.code, result.output).toBe(0);
  }, 200_000);
});

describe('the design document', () => {
  it.skipIf(!existsSync(SHARED_DESIGN))('docs/design/ holds the shared design unchanged', () => {
    expect(readFileSync(DESIGN_PATH, 'utf8')).toBe(readFileSync(SHARED_DESIGN, 'utf8'));
  });
});
