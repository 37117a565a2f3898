// The variables the jest global setup and teardown read, as a zod schema: they parse
// their environment with it, and docs/configuration.md is generated from it
// (`pnpm config:docs`). What the setup exports for the test workers (MONGO_URL without
// a database, AMQP_URL) is read back through infra-urls.ts.
const { z } = require('zod');

const flag = () => z.enum(['0', '1']).default('0');

const infraEnvSchema = z.object({
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

/** The setup's settings; an empty variable counts as unset, as it does for the services. */
function readInfraEnv(env = process.env) {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = infraEnvSchema.safeParse(set);
  if (!result.success) throw new Error(`invalid environment:\n${z.prettifyError(result.error)}`);
  return result.data;
}

module.exports = { infraEnvSchema, readInfraEnv };
