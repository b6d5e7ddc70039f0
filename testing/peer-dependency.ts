// The optional-peer loader lives in src (the health indicator and telemetry load their peers with it); the testing entry
// points use the same one.
export { MissingPeerDependencyError, importPeerDependency, isMissingPackageError } from '../src/peer-dependency.js';
