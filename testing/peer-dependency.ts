// The optional-peer loaders live in src (the health indicator and telemetry load their peers with them); the testing
// entry points use the same ones.
export { MissingPeerDependencyError, importPeerDependency, isMissingPackageError, requirePeerDependency } from '../src/peer-dependency.js';
