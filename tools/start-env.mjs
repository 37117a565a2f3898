// The variables `pnpm start` (tools/start.mjs) reads or sets itself. start.mjs parses
// its environment with this schema, and docs/configuration.md is generated from it
// (`pnpm config:docs`), so a default or a description changes here only. Every other
// variable reaches the services untouched.
import { z } from 'zod';

import { webEnvSchema } from '../apps/web/serve-env.cjs';

const web = webEnvSchema.shape;

const port = (fallback) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const startEnvSchema = z
  .object({
    MONGO_URL: z.string().min(1).optional().meta({
      description:
        'A MongoDB for the services, used as it is. Unset: the FerretDB dev server is started (data in `.data/ferretdb`) and the services get `mongodb://127.0.0.1:${MONGO_PORT}/parley`.',
      defaultText: 'the FerretDB dev server',
    }),
    MONGO_PORT: port(27017).describe('Port of the FerretDB dev server it starts.'),
    AMQP_URL: z
      .string()
      .min(1)
      .default('amqp://guest:guest@127.0.0.1:5672')
      .describe(
        'RabbitMQ, given to auth, chat and websocket; checked before anything starts (exit 1 with a message if it does not answer).',
      ),
    AUTH_PORT: port(5001).describe('Given to auth as `PORT`.'),
    CHAT_PORT: port(5002).describe('Given to chat as `PORT`.'),
    WEBSOCKET_PORT: port(5003).describe('Given to websocket as `PORT`.'),
    AUTH_METRICS_PORT: port(9101).describe(
      'Given to auth as `METRICS_PORT` (its `GET /metrics`, on 127.0.0.1).',
    ),
    CHAT_METRICS_PORT: port(9102).describe('Given to chat as `METRICS_PORT`.'),
    WEBSOCKET_METRICS_PORT: port(9103).describe('Given to websocket as `METRICS_PORT`.'),
    WEBHOOKS_PORT: port(5004).describe(
      'Given to the webhook worker as `PORT` (its `/healthz` and `/readyz` only).',
    ),
    WEBHOOKS_METRICS_PORT: port(9104).describe('Given to the webhook worker as `METRICS_PORT`.'),
    AUTH_URL: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Given to chat.', defaultText: '`http://127.0.0.1:${AUTH_PORT}`' }),
    JWKS_URL: z.string().min(1).optional().meta({
      description: 'Given to chat and websocket.',
      defaultText: '`http://127.0.0.1:${AUTH_PORT}/.well-known/jwks.json`',
    }),
    CHAT_URL: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Given to websocket.', defaultText: '`http://127.0.0.1:${CHAT_PORT}`' }),
    NODE_ENV: z
      .enum(['development', 'test', 'production'])
      .default('development')
      .describe('Given to every service.'),
    NO_COLOR: z
      .string()
      .optional()
      .describe(
        'Set to anything: no colours in the `[auth]`/`[chat]`/… prefixes (they are also off when stdout is not a terminal).',
      ),
    LOG_FORMAT: z
      .enum(['pretty', 'json'])
      .default('pretty')
      .describe(
        '`pretty`: each service log line as `HH:MM:SS LEVEL [svc] msg key=value…`; `json`: the raw pino JSON lines, prefixed with the service.',
      ),
    FERRETDB_LOG_LEVEL: z
      .enum(['debug', 'info', 'warn', 'error'])
      .default('error')
      .describe('Log level of the FerretDB dev server it starts.'),
    WEB_PORT: port(8080).describe(
      'Port of the web client ([apps/web](../apps/web/README.md), served by `apps/web/serve.mjs`, built first when stale).',
    ),
    HOST: web.HOST.describe('Address the web client listens on.'),
    PARLEY_AUTH_URL: web.PARLEY_AUTH_URL,
    PARLEY_CHAT_URL: web.PARLEY_CHAT_URL,
    PARLEY_WEBSOCKET_URL: web.PARLEY_WEBSOCKET_URL,
  })
  .transform((env) => ({
    ...env,
    AUTH_URL: env.AUTH_URL ?? `http://127.0.0.1:${env.AUTH_PORT}`,
    JWKS_URL: env.JWKS_URL ?? `http://127.0.0.1:${env.AUTH_PORT}/.well-known/jwks.json`,
    CHAT_URL: env.CHAT_URL ?? `http://127.0.0.1:${env.CHAT_PORT}`,
  }));

/** start.mjs' settings; an empty variable counts as unset, as it does for the services. */
export function readStartEnv(env = process.env) {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = startEnvSchema.safeParse(set);
  if (!result.success) throw new Error(`invalid environment:\n${z.prettifyError(result.error)}`);
  return result.data;
}
