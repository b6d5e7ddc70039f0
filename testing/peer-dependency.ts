// The optional-peer loader lives in src (the module's telemetry uses it too); the testing entry points share it.
export { MissingPeerDependencyError, importPeerDependency, isMissingPackageError } from '../src/peer-dependency.js';
