import { readFileSync } from 'node:fs';

/**
 * Names an entry point declares in its `export { … } from` / `export type { … } from` lists, sorted, with
 * `type ` before the names that exist only as types (erased at runtime).
 */
export function declaredExports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  if (/^export \*/m.test(source)) throw new Error(`${file} re-exports with 'export *': list the names`);
  const names: string[] = [];
  for (const m of source.matchAll(/^export (type )?\{([^}]*)\} from '[^']+';/gm)) {
    for (const raw of m[2].split(',')) {
      const name = raw.trim();
      if (!name) continue;
      names.push(m[1] || name.startsWith('type ') ? `type ${name.replace(/^type /, '')}` : name);
    }
  }
  const key = (n: string) => n.replace(/^type /, '');
  return names.sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
}
