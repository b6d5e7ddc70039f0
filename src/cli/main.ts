#!/usr/bin/env node
// `npx atomic-queues`: the command-line entry point (package.json "bin"). See ./program.ts for the commands.
import 'reflect-metadata';
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
