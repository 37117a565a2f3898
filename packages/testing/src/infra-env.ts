// The variables the jest global setup and teardown read (provideTestInfrastructure in
// infrastructure.ts), as a zod schema: they parse their environment with it, and
// docs/configuration.md is generated from it (`pnpm config:docs`). What the setup
// exports for the test workers (MONGO_URL without a database, AMQP_URL) is read back
// through infra-urls.ts.
import { loadConfig } from '@parley/server-kit';
import { z } from 'zod';

const flag = () => z.enum(['0', '1']).default('0');

export const infraEnvSchema = z.object({
  MONGO_URL: z.string().min(1).optional().meta({
    description:
      'A MongoDB **server** URL for the tests (no database: each test file picks its own); set, it is used as it is and nothing is looked for or started.',
    defaultText:
      "a Docker engine's `mongo:7` (testcontainers), else the FerretDB dev server on a free port",
  }),
  AMQP_URL: z.string().min(1).optional().meta({
    description: 'RabbitMQ for the tests; set, it is used as it is.',
    defaultText:
      '`amqp://guest:guest@127.0.0.1:5672` if it answers, else started with testcontainers or `rabbitmq-server -detached`',
  }),
  PARLEY_NO_DOCKER: flag().describe(
    '`1`: never use a Docker engine (testcontainers), even if one answers.',
  ),
  PARLEY_KEEP_RABBITMQ: flag().describe(
    '`1`: the teardown leaves running a RabbitMQ the setup started with `rabbitmq-server -detached`.',
  ),
});

export type InfraEnv = z.output<typeof infraEnvSchema>;

/** The setup's settings, parsed like a service's config (an empty variable is unset). */
export function readInfraEnv(): InfraEnv {
  return loadConfig(infraEnvSchema);
}
