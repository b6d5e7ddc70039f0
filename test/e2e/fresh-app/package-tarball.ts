// The package as npm users get it: built from the source tree into a staging copy (never touching ./dist, which
// other tests read) and packed with `npm pack`. Packed once per content: the tarball is kept in the temp dir under
// a hash of everything that goes into it, so the e2e files of one `npm test` run (and reruns on an unchanged tree)
// share one pack; a lock keeps two test files from packing the same tree at once.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runOk } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = join(REPO_ROOT, 'node_modules/.bin/tsc');

/** What the build and the pack read: the two source trees, the manifest, the README, the compiler settings. */
const PACK_INPUTS = ['src', 'testing', 'package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json'];
const CACHE_PREFIX = 'aq-package-tarball-';
/** A lock older than this is taken to be left by a killed run. */
const STALE_LOCK_MS = 3 * 60_000;

/** Builds `packageRoot` into `<root>/package/dist` and packs it into `root`; returns the tarball's path. */
export async function packPackage(root: string, log: (line: string) => void, packageRoot = REPO_ROOT): Promise<string> {
  const staging = join(root, 'package');
  mkdirSync(staging, { recursive: true });
  copyFileSync(join(packageRoot, 'package.json'), join(staging, 'package.json'));
  copyFileSync(join(packageRoot, 'README.md'), join(staging, 'README.md'));
  const build = await runOk(TSC, ['-p', 'tsconfig.build.json', '--outDir', join(staging, 'dist')], { cwd: packageRoot, timeoutMs: 180_000 });
  log(`built the package from ${packageRoot} (${build.ms} ms)`);
  const pack = await runOk('npm', ['pack', '--json', '--pack-destination', root], { cwd: staging, timeoutMs: 120_000 });
  const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
  log(`packed ${filename} (${pack.ms} ms)`);
  return join(root, filename);
}

/** Hash of every file the pack reads (paths and contents). */
export function packInputsHash(packageRoot = REPO_ROOT): string {
  const hash = createHash('sha256');
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
      return;
    }
    hash.update(`${relative(packageRoot, path)}\0`).update(readFileSync(path)).update('\0');
  };
  for (const input of PACK_INPUTS) visit(join(packageRoot, input));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The packed tarball of `packageRoot`, packed at most once per content (see the file's header). The returned
 * path stays valid after the run; tarballs unused for a day are removed when a new one is made (not sooner:
 * another checkout's tests may be using theirs).
 */
export async function packedTarball(log: (line: string) => void, packageRoot = REPO_ROOT): Promise<string> {
  const key = packInputsHash(packageRoot);
  const dir = join(tmpdir(), `${CACHE_PREFIX}${key}`);
  const lock = `${dir}.lock`;
  const cached = () => (existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.tgz')) : undefined);
  for (;;) {
    const hit = cached();
    if (hit) {
      utimesSync(dir, new Date(), new Date());
      log(`package tarball from the cache (${dir}, inputs ${key})`);
      return join(dir, hit);
    }
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    if (cached()) return join(dir, cached()!);
    const work = join(lock, 'work');
    const tarball = await packPackage(work, log, packageRoot);
    removeOldTarballs();
    mkdirSync(dir);
    const name = tarball.slice(work.length + 1);
    renameSync(tarball, join(dir, name));
    return join(dir, name);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function removeOldTarballs(): void {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(CACHE_PREFIX) && !n.endsWith('.lock'))) {
    const path = join(tmpdir(), name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > 24 * 3600_000) rmSync(path, { recursive: true, force: true });
  }
}
