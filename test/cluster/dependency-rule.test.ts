import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import rule of the multi-process tooling (toolkit/README.md): the toolkit depends on none of its users,
 * chaos and load do not depend on each other, and the tools reach the module only through its public entry
 * points (`@nestjs/atomic-queues`, `@nestjs/atomic-queues/testing`), never through src/ or testing/ files.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Folder → top-level folders its files must not import (relative specifiers resolved against the file). */
const FORBIDDEN: Record<string, readonly string[]> = {
  toolkit: ['chaos', 'load', 'bench', 'soak', 'examples', 'src', 'testing', 'test'],
  chaos: ['load', 'bench', 'soak', 'src', 'testing'],
  load: ['chaos', 'bench', 'soak', 'src', 'testing'],
  soak: ['chaos', 'load', 'bench', 'src', 'testing'],
  // bench/lua measures the module's own Lua scripts, so bench may reach into src/
  bench: ['chaos', 'load', 'soak'],
  examples: ['toolkit', 'chaos', 'load', 'bench', 'soak', 'src', 'testing'],
};

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|\bexport\s*\*\s*from\s*)['"]([^'"]+)['"]/gm;

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name.startsWith('.') ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [path] : [];
  });
}

/** Import specifiers of a source text (static, dynamic, side-effect and re-exports). */
function importSpecifiers(text: string): string[] {
  return [...text.matchAll(SPECIFIER)].map((m) => m[1]!);
}

/** Top-level repo folder a relative specifier of `file` points into; undefined for package specifiers. */
function targetFolder(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const target = relative(root, resolve(dirname(file), specifier));
  return target.startsWith('..') ? '(outside the repo)' : target.split(sep)[0];
}

function violations(folder: string): string[] {
  const forbidden = FORBIDDEN[folder]!;
  return sourceFiles(join(root, folder)).flatMap((file) =>
    importSpecifiers(readFileSync(file, 'utf8'))
      .filter((spec) => {
        const target = targetFolder(file, spec);
        return target !== undefined && forbidden.includes(target);
      })
      .map((spec) => `${relative(root, file)} imports '${spec}'`),
  );
}

describe('import rule of the multi-process tooling', () => {
  it('finds static, dynamic, side-effect and re-export specifiers', () => {
    const text = [
      "import { a } from '../load/lib/x.js';",
      "import type { B } from './b.js';",
      "export * from '../chaos/c.js';",
      "const m = await import('../bench/d.js');",
      "import 'reflect-metadata';",
    ].join('\n');
    expect(importSpecifiers(text)).toEqual(['../load/lib/x.js', './b.js', '../chaos/c.js', '../bench/d.js', 'reflect-metadata']);
    expect(targetFolder(join(root, 'toolkit', 'cluster', 'x.ts'), '../../load/lib/stats.js')).toBe('load');
    expect(targetFolder(join(root, 'toolkit', 'cluster', 'x.ts'), './launcher.js')).toBe('toolkit');
    expect(targetFolder(join(root, 'toolkit', 'cluster', 'x.ts'), '@nestjs/atomic-queues')).toBeUndefined();
  });

  it('the toolkit has source files to check', () => {
    expect(sourceFiles(join(root, 'toolkit')).length).toBeGreaterThan(10);
  });

  for (const folder of Object.keys(FORBIDDEN)) {
    it(`${folder}/ imports none of ${FORBIDDEN[folder]!.join(', ')}`, () => {
      expect(violations(folder)).toEqual([]);
    });
  }
});
