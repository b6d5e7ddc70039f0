// Mutation testing (issue 10): `npm run mutation`. Not part of `npm test` or CI: the full run takes hours; run it
// in shards with `npm run mutation:shards` (mutation/shards.ts: the shards, their tests, the summary).
// Narrow it with Stryker's own flags, e.g.
//   npm run mutation -- --mutate 'src/config/**/*.ts' --testFiles 'test/core/config.test.ts'
// `--mutate` replaces the list below; `--testFiles` limits the test files (globs; default: the test files
// vitest finds related to the mutated files).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // The project's own config: its globalSetup starts the private redis-server the integration tests need.
  vitest: { configFile: 'vitest.config.ts', related: true },
  // Each test run only for the mutants it reaches.
  coverageAnalysis: 'perTest',
  // No TypeScript checker: typescript@7 is a native compiler without the JS API @stryker-mutator/typescript-checker needs.
  checkers: [],
  // Stryker reads `tsconfigFile` with the TypeScript JS API to rewrite paths leaving the sandbox; ours has none
  // (tsconfig.json extends nothing), and typescript@7 has no JS API: point it at no file so the step is skipped.
  tsconfigFile: 'stryker-skips-tsconfig-rewrite.json',
  mutate: [
    'src/**/*.ts',
    'testing/backend/**/*.ts',
    // A *.lua.ts file is a Lua script in a string: mutating the string only swaps one script for an empty one.
    '!src/**/*.lua.ts',
    '!testing/backend/**/*.lua.ts',
  ],
  // The sandbox copy needs the sources, tests and configs; not build output, reports or run artefacts.
  ignorePatterns: [
    'dist',
    'coverage',
    'test-results',
    'reports',
    '.runs',
    'chaos/.runs',
    'load/results',
    'soak/results',
    '*.log',
  ],
  // Two cores shared with other work: one test runner at a time.
  concurrency: 1,
  timeoutMS: 20_000,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
