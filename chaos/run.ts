import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseChaosArgs, USAGE, type SelfTestName } from './args.js';
import { getProfile } from './profile.js';
import { formatTable } from './report/table.js';
import { writeReports } from './report/write.js';
import type { ChaosReport, ScenarioResult } from './result.js';
import { runScenario, type ChaosSession, type RunSpec } from './runner.js';
import { getScenario } from './scenarios.js';
import { startToxiproxy, toxiproxyLogPath } from './toxiproxy/server.js';
import { ProgressReporter } from '../toolkit/progress/progress.js';

/**
 * `npm run chaos [-- --scenario <name>] [--profile ci]`: runs the fault scenarios against a real Toxiproxy and
 * private redis-servers, prints the table, writes chaos/report.json + chaos/report.html, exits 1 on any failure.
 */
const REDIS_RESTART_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always'];

const SELF_TESTS: Record<SelfTestName, Omit<RunSpec, 'name'>> = {
  'concurrency-2': {
    title: 'UNSAFE: per-entity concurrency 2 without the fencing lock; the checks must report violations',
    unsafe: 'concurrency-2',
  },
};

function redisVersion(): string | undefined {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseChaosArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const profile = getProfile(args.profile);
  const root = process.cwd();
  const outDir = resolve(args.outDir ?? join(root, 'chaos'));
  const specs: RunSpec[] = [
    ...args.scenarios.map((name): RunSpec => {
      const scenario = getScenario(name);
      return { name, title: scenario.title, scenario, redisArgs: name === 'redis-restart' ? REDIS_RESTART_ARGS : undefined };
    }),
    ...args.selfTests.map((name): RunSpec => ({ name: `self-test:${name}`, ...SELF_TESTS[name] })),
  ];
  const toxiproxy = await startToxiproxy({ logFile: toxiproxyLogPath(outDir) });
  const started = Date.now();
  // Scenario k/n, elapsed, jobs done, ETA: redrawn on a terminal, plain lines in CI.
  const progress = new ProgressReporter({ label: 'chaos', total: specs.length });
  const log = (m: string) => progress.log(`chaos +${((Date.now() - started) / 1000).toFixed(1)}s ${m}`);
  log(`toxiproxy ${toxiproxy.version} on ${toxiproxy.url}; profile ${profile.name}; ${specs.length} runs`);
  const session: ChaosSession = { toxiproxy, profile, nodes: args.nodes ?? profile.nodes, log, progress };
  const results: ScenarioResult[] = [];
  try {
    for (const spec of specs) {
      progress.startScenario(spec.name);
      const result = await runScenario(session, spec);
      progress.endScenario();
      results.push(result);
      log(`${result.scenario}: ${result.verdict} (${result.jobs} jobs, ${(result.durationMs / 1000).toFixed(1)} s)${result.reasons.length ? ` — ${result.reasons.join('; ')}` : ''}`);
    }
  } finally {
    progress.stop();
    await toxiproxy.stop();
  }
  const report: ChaosReport = {
    generatedAt: new Date().toISOString(),
    profile: profile.name,
    nodes: session.nodes,
    toxiproxyVersion: toxiproxy.version,
    redisVersion: redisVersion(),
    redisPersistence: 'none (private redis-server per scenario); redis-restart runs with appendonly yes + appendfsync always, so no data loss is allowed by config',
    ok: results.every((r) => r.verdict === 'PASS'),
    results,
  };
  const paths = writeReports(report, join(outDir, 'report.json'), join(outDir, 'report.html'));
  console.log(`\n${formatTable(results)}\n\nreports: ${paths.json}, ${paths.html}`);
  console.log(report.ok ? 'chaos: all scenarios passed' : 'chaos: FAILED');
  return report.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(`chaos: ${error.message}`);
    process.exit(2);
  },
);
