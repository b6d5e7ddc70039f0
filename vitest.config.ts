import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  // Nest needs constructor parameter types: Vite 8's oxc emits them in legacy decorator mode.
  oxc: { transform: { decorators: { legacy: true, emitDecoratorMetadata: true } } },
  resolve: {
    alias: [
      { find: /^@nestjs\/atomic-queues\/testing\/property$/, replacement: here('./testing/property/index.ts') },
      { find: /^@nestjs\/atomic-queues\/testing$/, replacement: here('./testing/index.ts') },
      { find: /^@nestjs\/atomic-queues$/, replacement: here('./src/index.ts') },
    ],
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
