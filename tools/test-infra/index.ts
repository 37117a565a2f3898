// What a test file needs from the infrastructure global-setup.js provides. The
// helpers live in @parley/server-kit/testing; this re-export keeps relative imports
// (`from '../../../tools/test-infra'`) working for tests outside the packages.
export { amqpUrl, testMongoUrl, uniqueName, waitFor } from '@parley/server-kit/testing';
export type { WaitForOptions } from '@parley/server-kit/testing';
