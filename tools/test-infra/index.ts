// What a test file needs from the infrastructure global-setup.js provides: where
// MongoDB and RabbitMQ are (read from the environment it exported), plus the kit's
// unique names and bounded polling, so tests import one place.
// Import it by relative path, e.g. `from '../../../tools/test-infra'`.
export { amqpUrl, testMongoUrl } from './infra-urls';
export { uniqueName, waitFor } from '@parley/server-kit/testing';
export type { WaitForOptions } from '@parley/server-kit/testing';
