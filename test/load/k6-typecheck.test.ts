import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('k6 scripts', () => {
  it('type-check against @types/k6 with the shared load/lib modules (npm run typecheck:k6)', async () => {
    const tsc = fileURLToPath(new URL('../../node_modules/.bin/tsc', import.meta.url));
    const run = await promisify(execFile)(tsc, ['-p', 'load/k6/tsconfig.json'], { cwd: root }).then(
      () => ({ code: 0, out: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, out: error.stdout }),
    );
    expect(run.out).toBe('');
    expect(run.code).toBe(0);
  });

  it('import only leaf modules from load/lib (k6 loads each .ts file as-is, without a bundler)', () => {
    const script = readFileSync(`${root}load/k6/entity-load.ts`, 'utf8');
    const libs = [...script.matchAll(/from '\.\.\/lib\/([\w-]+)\.ts'/g)].map((m) => m[1]!);
    expect(libs.sort()).toEqual(['entities', 'k6-summary', 'payload', 'scenarios']);
    for (const lib of libs) expect(readFileSync(`${root}load/lib/${lib}.ts`, 'utf8')).not.toMatch(/^\s*(import|export .* from)\b/m);
  });
});
