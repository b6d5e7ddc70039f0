import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_KEY_PREFIX } from '../config/atomic-queues-config.js';
import { AtomicQueuesConnectionError, AtomicQueuesValidationError } from '../errors.js';
import type { CliContext } from './context.js';
import { CliNotFoundError, CliUsageError, EXIT } from './errors.js';
import { DEFAULT_REDIS_URL, resolveCliConfig, type ConnectionOptions } from './options.js';
import { renderEntities, renderInspection, renderRetry } from './render.js';

/** Where the CLI writes, and its environment (a test passes its own). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

interface CommonOptions extends ConnectionOptions {
  json?: boolean;
}

const integerArg = (name: string, min: number, max: number) => (raw: string): number => {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}] (got "${raw}")`);
  }
  return n;
};

/** --redis-url, --key-prefix, --timeout and --json, on every command. */
function withCommonOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--redis-url <url>', `Redis to read (redis:// or rediss://); default: env REDIS_URL, else ${DEFAULT_REDIS_URL}`))
    .addOption(new Option('--key-prefix <prefix>', "the module's keyPrefix").default(DEFAULT_KEY_PREFIX))
    .addOption(new Option('--timeout <ms>', 'give up reaching Redis after this long').default(5000).argParser(integerArg('--timeout', 1, 600_000)))
    .option('--json', 'print JSON instead of text');
}

/** Builds `atomic-queues`; each action resolves the exit code into `result`. */
export function buildProgram(io: CliIo, result: { code: number }): Command {
  const program = new Command('atomic-queues')
    .description('Look at the entities of @nestjs/atomic-queues in Redis: one entity, the backlog of a type, retry failed jobs.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  const run = async <T>(options: CommonOptions, work: (ctx: CliContext) => Promise<T>, render: (value: T) => string): Promise<void> => {
    resolveCliConfig(options, io.env); // bad options fail before the Redis client, BullMQ and Nest are loaded
    const { CliContext } = await import('./context.js');
    const ctx = await CliContext.open(options, io.env);
    try {
      const value = await work(ctx);
      io.out(`${options.json ? JSON.stringify(value, null, 2) : render(value)}\n`);
      result.code = EXIT.ok;
    } finally {
      await ctx.close();
    }
  };

  withCommonOptions(
    program
      .command('inspect')
      .description("one entity: queue counts, workers and their nodes, heartbeat TTL left, the lock and its fencing token, the last jobs with attempts and errors")
      .argument('<type>', 'entity type')
      .argument('<id>', 'entity id')
      .addOption(new Option('-n, --jobs <n>', 'how many of the last jobs to list').default(10).argParser(integerArg('--jobs', 0, 1000))),
  ).action((type: string, id: string, options: CommonOptions & { jobs: number }) =>
    run(options, async (ctx) => (await import('./inspect.js')).inspectEntity(ctx, type, id, options.jobs), renderInspection),
  );

  withCommonOptions(
    program
      .command('entities')
      .description('entities of a type with a backlog, the one waiting longest first')
      .argument('<type>', 'entity type')
      .addOption(new Option('-l, --limit <n>', 'how many entities to list').default(50).argParser(integerArg('--limit', 1, 1_000_000))),
  ).action((type: string, options: CommonOptions & { limit: number }) => run(options, async (ctx) => (await import('./backlog.js')).entityBacklog(ctx, type, options.limit), renderEntities));

  withCommonOptions(
    program
      .command('retry-failed')
      .description("moves the entity's failed jobs back to wait (oldest first) and signals the entity ready")
      .argument('<type>', 'entity type')
      .argument('<id>', 'entity id'),
  ).action((type: string, id: string, options: CommonOptions) => run(options, async (ctx) => (await import('./retry-failed.js')).retryFailed(ctx, type, id), renderRetry));

  return program;
}

/** Runs the CLI on `argv` (without node and script); returns the exit code (see EXIT). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const result = { code: EXIT.failure as number };
  const program = buildProgram(io, result);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander already printed its message for usage errors.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof CliUsageError || err instanceof AtomicQueuesValidationError) {
      io.err(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof CliNotFoundError) {
      io.err(`error: ${err.message}\n`);
      return EXIT.notFound;
    }
    if (err instanceof AtomicQueuesConnectionError) {
      io.err(`error: cannot reach ${err.message}\n`);
      return EXIT.failure;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
}

/** This package's version (from its package.json, found above this file in src/ and in dist/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@nestjs/atomic-queues') return pkg.version ?? '0.0.0';
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
