import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MutationTestResult } from 'mutation-testing-report-schema';
import { SHARDS, mutateGlobs, shardNamed, testGlobs, type MutationShard } from './shards.js';
import { renderSummary, summarize, survivors } from './summary.js';

const DIR = 'reports/mutation/shards';

const USAGE = `npm run mutation:shards -- [shard ...] [--all] [--force] [--summary] [--survivors <shard>] [--list]
  shard ...           run these shards (default: every shard without a report yet), then print the summary
  --all               run every shard (incremental: unchanged mutants and tests are not run again)
  --force             rerun every mutant of the shards run (Stryker --force), ignoring the incremental file
  --summary           only print the summary of the reports in ${DIR}
  --survivors <shard> print the shard's undetected mutants (file:line mutator replacement)
  --list              print the shards, their files and tests`;

const STRYKER_JSON = 'reports/mutation/mutation.json';
const STRYKER_HTML = 'reports/mutation/mutation.html';
const reportPath = (name: string) => join(DIR, `${name}.json`);

function readReport(name: string): MutationTestResult | undefined {
  const path = reportPath(name);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as MutationTestResult) : undefined;
}

/** One Stryker run over a shard; its reports kept under the shard's name only when Stryker finished. */
function runShard(shard: MutationShard, force: boolean): void {
  rmSync(STRYKER_JSON, { force: true });
  const args = [
    'run',
    '--mutate', mutateGlobs(shard).join(','),
    '--testFiles', testGlobs(shard).join(','),
    '--ignoreStatic',
    '--incremental',
    '--incrementalFile', join(DIR, `${shard.name}.incremental.json`),
    ...(force ? ['--force'] : []),
  ];
  const started = Date.now();
  console.log(`[mutation] shard ${shard.name}: stryker ${args.join(' ')}`);
  const run = spawnSync(join('node_modules', '.bin', 'stryker'), args, { stdio: 'inherit' });
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (run.status !== 0 || !existsSync(STRYKER_JSON)) {
    throw new Error(`mutation shard ${shard.name}: Stryker ended with ${run.status ?? run.signal} after ${minutes} min; its report was not kept`);
  }
  copyFileSync(STRYKER_JSON, reportPath(shard.name));
  if (existsSync(STRYKER_HTML)) copyFileSync(STRYKER_HTML, join(DIR, `${shard.name}.html`));
  console.log(`[mutation] shard ${shard.name}: done in ${minutes} min, report ${reportPath(shard.name)}`);
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      all: { type: 'boolean' },
      force: { type: 'boolean' },
      summary: { type: 'boolean' },
      survivors: { type: 'string' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  if (values.list) {
    for (const s of SHARDS) console.log(`${s.name}\n  mutate: ${s.mutate.join(' ')}\n  tests:  ${s.tests.join(' ')}`);
    return;
  }
  if (values.survivors !== undefined) {
    const shard = shardNamed(values.survivors);
    const report = readReport(shard.name);
    if (!report) throw new Error(`mutation shard ${shard.name} has no report yet: run npm run mutation:shards -- ${shard.name}`);
    for (const s of survivors(report)) console.log(`${s.file}:${s.line} ${s.status} ${s.mutator} ${s.replacement}`);
    return;
  }
  if (!values.summary) {
    const chosen = positionals.length ? positionals.map((n) => shardNamed(n)) : values.all ? SHARDS : SHARDS.filter((s) => !readReport(s.name));
    mkdirSync(DIR, { recursive: true });
    for (const shard of chosen) runShard(shard, values.force ?? false);
  }
  console.log(renderSummary(summarize(new Map(SHARDS.map((s) => [s.name, readReport(s.name)])))));
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
}
