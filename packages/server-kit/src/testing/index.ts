// Test support for Parley's component tests, importable as
// '@parley/server-kit/testing'. Never imported by production code.
export { createTestIssuer } from './test-issuer';
export type { MintOptions, TestIssuer, TestIssuerOptions } from './test-issuer';
export { waitFor } from './wait-for';
export type { WaitForOptions } from './wait-for';
export { uniqueDbName, uniqueName } from './unique-name';
export { createSilentLogger, createCapturingLogger } from './test-logger';
export type { CapturingLogger } from './test-logger';
