// The variables docker-compose.yml reads (from the shell or a `.env` file beside it),
// as a zod schema. Compose itself never sees this file: `pnpm config:docs` generates
// .env.example and the Docker Compose part of docs/configuration.md from it, and
// tools/ci/validate-docker.sh checks that .env.example's values are exactly the
// file's `${VAR:-default}`s, and its empty lines exactly the `${VAR:?…}`s: no password
// has a default (docs/design.md §9.6). The variables compose hands to a service as they
// are reuse that service's schema, so their type and default are stated once.
import { z } from 'zod';
import { authEnvSchema } from '../../services/auth/src/config';
import { webEnvSchema } from '../../apps/web/serve-env.cjs';

const auth = authEnvSchema.shape;
const web = webEnvSchema.shape;
const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const credentialChars = () =>
  z.string().regex(/^[A-Za-z0-9._~-]+$/, 'letters, digits, `-`, `_`, `.` and `~` only');
const credential = (fallback: string) => credentialChars().default(fallback);
/** A password: required, never a default, so a stack cannot run on a published one. */
const password = (description: string) => credentialChars().min(12).describe(description);

/** A service variable compose passes through: the service's schema with a note on who gets it. */
function passedTo<T extends z.ZodType>(field: T, services: string): T {
  return field.describe(`${field.description ?? ''} Given to ${services}.`.trim());
}

/**
 * A web client URL compose passes on: empty when not given (serve.mjs reads empty as
 * unset), and needed once the service's host port is no longer the default.
 */
function passedToWeb(field: z.ZodOptional<z.ZodType<string>>, portVariable: string) {
  return field
    .default('')
    .describe(
      `${field.description ?? ''} Given to web; set it when \`${portVariable}\` changes, as the browser calls the port published on the host.`,
    );
}

export const composeEnvSchema = z.object({
  COMPOSE_PROJECT_NAME: z.string().min(1).default('parley').meta({
    group: 'Project',
    description:
      "Read by Compose itself: prefixes the containers, the network and the volumes (`parley_mongo-data`, …). Without it Compose uses the checkout folder's name.",
  }),

  PUBLISH_ADDRESS: z.string().min(1).default('127.0.0.1').meta({
    group: 'Published ports',
    description:
      'Host address the ports are published on. `127.0.0.1` keeps the stack (and its development passwords) off the network; `0.0.0.0` lets other devices reach it. MongoDB and AMQP are reachable only inside the compose network.',
  }),
  AUTH_PORT: port(5001).describe('Host port of auth.'),
  CHAT_PORT: port(5002).describe('Host port of chat.'),
  WEBSOCKET_PORT: port(5003).describe('Host port of websocket.'),
  WEB_PORT: port(8080).describe(
    'Host port of the web client: http://localhost:8080 by default (`CORS_ORIGINS` below admits it).',
  ),
  RABBITMQ_MANAGEMENT_PORT: port(15672).describe(
    "Host port of RabbitMQ's management UI (log in as `RABBITMQ_USER`).",
  ),

  PARLEY_AUTH_URL: passedToWeb(web.PARLEY_AUTH_URL, 'AUTH_PORT').meta({ group: 'Web client' }),
  PARLEY_CHAT_URL: passedToWeb(web.PARLEY_CHAT_URL, 'CHAT_PORT'),
  PARLEY_WEBSOCKET_URL: passedToWeb(web.PARLEY_WEBSOCKET_URL, 'WEBSOCKET_PORT'),

  MONGO_USER: credential('parley').meta({
    group: 'Infrastructure credentials',
    description:
      "MongoDB's root user, for administration; the services each log in as their own user (`parley-auth`, `parley-chat`, tools/docker/mongo), allowed their own database only. MongoDB's users are created once, when the volumes are first created: changing a name or password later needs `docker compose down -v` (which deletes the data). Names and passwords are placed into URLs, so letters, digits, `-`, `_`, `.` and `~` only; passwords at least 12 characters.",
  }),
  MONGO_PASSWORD: password("The root user's password."),
  MONGO_AUTH_PASSWORD: password(
    "Password of MongoDB's `parley-auth` user (readWrite on `parley_auth`), given to auth.",
  ),
  MONGO_CHAT_PASSWORD: password(
    "Password of MongoDB's `parley-chat` user (readWrite on `parley_chat`), given to chat.",
  ),
  RABBITMQ_USER: credential('parley').describe(
    "RabbitMQ's administrator, for the management UI. The services each log in as their own user with the least rights it needs (tools/docker/rabbitmq/definitions.json): `parley-auth` writes `chat.events`; `parley-chat` configures and writes it; `parley-websocket` reads it through its own queues and owns `chat.presence`. RabbitMQ loads these users at every start, so a changed password applies on the next one.",
  ),
  RABBITMQ_PASSWORD: password("The administrator's password."),
  RABBITMQ_AUTH_PASSWORD: password("Password of RabbitMQ's `parley-auth` user, given to auth."),
  RABBITMQ_CHAT_PASSWORD: password("Password of RabbitMQ's `parley-chat` user, given to chat."),
  RABBITMQ_WEBSOCKET_PASSWORD: password(
    "Password of RabbitMQ's `parley-websocket` user, given to websocket.",
  ),
  RABBITMQ_WEBHOOKS_PASSWORD: password(
    "Password of RabbitMQ's `parley-webhooks` user, given to the webhook worker: it reads `chat.events` through its own queue `chat.webhooks`.",
  ),

  LOG_LEVEL: passedTo(auth.LOG_LEVEL, 'auth, chat and websocket').meta({
    group: 'Shared by auth, chat and websocket',
  }),
  CORS_ORIGINS: z
    .string()
    .min(1)
    .meta({ format: 'origins' })
    .default(
      'http://localhost:3000,http://localhost:5173,http://localhost:8080,http://127.0.0.1:3000,http://127.0.0.1:5173,http://127.0.0.1:8080',
    )
    .describe(
      'Origins a browser page may call the APIs from: comma-separated, or `*`. The services run with `NODE_ENV=production`, where an unset list allows none, so compose sets the usual local dev-server origins. Given to auth, chat and websocket.',
    ),
  JWT_ISSUER: passedTo(auth.JWT_ISSUER, 'auth, chat and websocket'),
  JWT_AUDIENCE: passedTo(auth.JWT_AUDIENCE, 'auth, chat and websocket'),

  JWT_ALGORITHM: auth.JWT_ALGORITHM.meta({
    group: 'auth',
    description:
      "auth's signing algorithm. The `keygen` one-shot writes a matching private key to the `jwt-keys` volume on the first start and keeps it; after changing the algorithm, remove that volume (`docker volume rm parley_jwt-keys`) so a new key is made. Given to keygen and auth.",
  }),
  ACCESS_TOKEN_TTL: passedTo(auth.ACCESS_TOKEN_TTL, 'auth'),
  REFRESH_TOKEN_TTL: passedTo(auth.REFRESH_TOKEN_TTL, 'auth'),
  BCRYPT_COST: passedTo(auth.BCRYPT_COST, 'auth'),
});
