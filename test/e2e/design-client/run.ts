// The whole proof from the command line: `npx tsx test/e2e/design-client/run.ts [--orders N] [--keep]`.
// Exit code 0 only when the snippets compile, two nodes process every order in FIFO once, and the
// testing-module test passes. test/e2e/design-client.test.ts runs the same steps under vitest.
import { parseArgs } from 'node:util';
import { createFreshApp, runAppTests } from './fresh-app.js';
import { checkTwoNodeRun, runTwoNodes, summarizeTwoNodeRun } from './two-nodes.js';

const { values } = parseArgs({ options: { orders: { type: 'string', default: '20' }, keep: { type: 'boolean', default: false } } });
const app = await createFreshApp({ keep: values.keep, log: (line) => console.log(`[design-client] ${line}`) });
let failed = 0;
const report = (name: string, problems: string[]) => {
  failed += problems.length ? 1 : 0;
  console.log(`${problems.length ? 'FAIL' : 'PASS'} ${name}${problems.map((p) => `\n  - ${p}`).join('')}`);
};
try {
  report('the snippets type-check', app.compile.code === 0 ? [] : app.compile.output.trim().split('\n'));
  const cluster = await runTwoNodes(app.dir, { orderCount: Number(values.orders) });
  console.log(`[design-client] ${summarizeTwoNodeRun(cluster)}`);
  report(`two node processes: ${cluster.orders.length} orders, FIFO, once each`, checkTwoNodeRun(cluster));
  const tests = await runAppTests(app);
  report('testing-module equivalent (node --test)', tests.code === 0 ? [] : [tests.output.trim()]);
} finally {
  app.remove();
}
process.exitCode = failed ? 1 : 0;
