import { AtomicQueuesError } from './errors.js';

/** How an optional peer is installed: `dev` (default) for test tools, `runtime` for what the app runs with. */
export type PeerDependencyKind = 'dev' | 'runtime';

/**
 * An optional peer dependency of a feature is not installed (a testing entry point's, the health indicator's or telemetry's).
 * The message names the package, what it is needed for and the command that installs it.
 */
export class MissingPeerDependencyError extends AtomicQueuesError {
  readonly installCommand: string;

  constructor(
    readonly packageName: string,
    readonly entryPoint: string,
    readonly purpose: string,
    cause?: unknown,
    kind: PeerDependencyKind = 'dev',
  ) {
    const installCommand = `npm install ${kind === 'dev' ? '-D ' : ''}${packageName}`;
    super(`${entryPoint} needs the package '${packageName}' (${purpose}), which is not installed. Install it: ${installCommand}`, cause === undefined ? undefined : { cause });
    this.installCommand = installCommand;
  }
}

/** True iff `err` says that the package `packageName` itself (not something it imports) cannot be found. */
export function isMissingPackageError(err: unknown, packageName: string): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  // Node: "Cannot find package 'x' imported from …" (ESM) / "Cannot find module 'x'" (require).
  return err.message.includes(`'${packageName}'`) || err.message.includes(`"${packageName}"`);
}

/**
 * Loads an optional peer dependency through `importer` (a literal `() => import('pkg')`, so bundlers still see
 * it); when the package is not installed, throws {@link MissingPeerDependencyError} instead of Node's bare
 * ERR_MODULE_NOT_FOUND. Other failures are rethrown unchanged.
 */
export async function importPeerDependency<T>(
  packageName: string,
  entryPoint: string,
  purpose: string,
  importer: () => Promise<T>,
  kind: PeerDependencyKind = 'dev',
): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    if (isMissingPackageError(err, packageName)) throw new MissingPeerDependencyError(packageName, entryPoint, purpose, err, kind);
    throw err;
  }
}
