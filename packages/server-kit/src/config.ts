// Environment configuration, validated once at boot. Services compose their schema
// from the shared variable builders below and call loadConfig() from main.ts only;
// nothing else in the code base reads process.env.
import { z } from 'zod';

export interface ConfigIssue {
  variable: string;
  message: string;
}

/** Thrown by loadConfig; the message names every bad or missing variable, never a value. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(
      `Invalid configuration:\n${issues.map((i) => `  - ${i.variable}: ${i.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export type Env = Record<string, string | undefined>;

/**
 * Parses `env` with `schema` (a z.object of variable names) and returns the typed
 * config. Empty strings count as unset, so `FOO=` falls back to the default.
 */
export function loadConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  const cleaned: Env = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue): ConfigIssue => {
    const variable = issue.path.map(String).join('.') || '(config)';
    const missing = issue.path.length > 0 && cleaned[variable] === undefined;
    return { variable, message: missing ? 'is required but not set' : describeIssue(issue) };
  });
  throw new ConfigError(issues);
}

// zod's own messages are value-free, but build ours from the issue kind anyway so a
// future message format can never print a secret.
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}`;
    case 'invalid_type':
      return `must be a ${issue.expected}`;
    case 'invalid_format':
      return `must be a valid ${issue.format}`;
    default:
      return issue.message.replace(/received .*/i, '').trim() || 'is invalid';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type NodeEnv = 'development' | 'test' | 'production';

function urlWithProtocol(protocols: readonly string[]) {
  return z
    .string()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    )
    .meta({ format: 'url', protocols: [...protocols] });
}

/** One URL or several separated by commas (a broker cluster's nodes), each checked. */
function urlListWithProtocol(protocols: readonly string[]) {
  return z
    .string()
    .refine(
      (value) =>
        splitUrlList(value).length > 0 &&
        splitUrlList(value).every((url) => {
          try {
            return protocols.includes(new URL(url).protocol);
          } catch {
            return false;
          }
        }),
      `must be one URL or comma-separated URLs, each starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    )
    .meta({ format: 'url', protocols: [...protocols] });
}

/** The URLs of a comma-separated list such as AMQP_URL, trimmed, empty ones dropped. */
export function splitUrlList(value: string): string[] {
  return value
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
}

// Every variable carries a `.describe()`: docs/configuration.md is generated from these
// schemas (`pnpm config:docs`), defaults included. The `format`, `unit`, `protocols` and
// `defaultText` metadata only shape that page (tools/config-docs explains them).

/**
 * Builders for the variables every service shares; each returns a fresh schema. Those
 * naming one thing (MONGO_URL, JWT_ISSUER…) carry its description; a service may
 * replace it with its own `.describe()`.
 */
export const envVars = {
  nodeEnv: () => z.enum(['development', 'test', 'production']).default('development'),
  logLevel: (fallback: LogLevel = 'info') => z.enum(LOG_LEVELS).default(fallback),
  port: (fallback: number) =>
    z.coerce
      .number()
      .int()
      .min(0)
      .max(65535)
      .default(fallback)
      .describe('TCP port to listen on; `0` picks a free one.'),
  host: (fallback = '0.0.0.0') => z.string().min(1).default(fallback),
  mongoUrl: (fallback = 'mongodb://127.0.0.1:27017/parley') =>
    urlWithProtocol(['mongodb:', 'mongodb+srv:'])
      .default(fallback)
      .describe("MongoDB to use; the database is the URL's path (`parley` when it has none)."),
  amqpUrl: (fallback = 'amqp://guest:guest@127.0.0.1:5672') =>
    urlListWithProtocol(['amqp:', 'amqps:'])
      .default(fallback)
      .describe(
        'RabbitMQ to use; the nodes of a cluster as comma-separated URLs (the next one is tried on every reconnect).',
      ),
  httpUrl: () => urlWithProtocol(['http:', 'https:']),
  /**
   * Comma-separated origins, or `*` for all. Unset gives `undefined`: pass it to
   * resolveCorsOrigins() with NODE_ENV for the environment's default.
   */
  corsOrigins: () =>
    z
      .string()
      .meta({ format: 'origins' })
      .transform((value): '*' | string[] =>
        value.trim() === '*'
          ? '*'
          : value
              .split(',')
              .map((origin) => origin.trim())
              .filter(Boolean),
      )
      .optional(),
  jwksUrl: (fallback?: string) =>
    fallback === undefined
      ? urlWithProtocol(['http:', 'https:'])
      : urlWithProtocol(['http:', 'https:']).default(fallback),
  jwtIssuer: (fallback = 'parley-auth') =>
    z
      .string()
      .min(1)
      .default(fallback)
      .describe('The `iss` of access tokens: auth signs with it, every verifier requires it.'),
  jwtAudience: (fallback = 'parley') =>
    z
      .string()
      .min(1)
      .default(fallback)
      .describe('The `aud` of access tokens: auth signs with it, every verifier requires it.'),
  /** A duration in milliseconds. */
  durationMs: (fallback: number) =>
    z.coerce.number().int().min(0).meta({ unit: 'ms' }).default(fallback),
  shutdownTimeoutMs: (fallback = 10_000) =>
    z.coerce.number().int().min(0).meta({ unit: 'ms' }).default(fallback),
  /** An express/bytes size such as `100kb` or `1mb`. */
  bodyLimit: (fallback = '100kb') =>
    z
      .string()
      .regex(/^\d+(b|kb|mb)?$/i, 'must be a size such as 100kb or 1mb')
      .meta({ format: 'size' })
      .default(fallback),
  int: (fallback: number, options: { min?: number; max?: number; unit?: string } = {}) =>
    z.coerce
      .number()
      .int()
      .min(options.min ?? Number.MIN_SAFE_INTEGER)
      .max(options.max ?? Number.MAX_SAFE_INTEGER)
      .meta(options.unit === undefined ? {} : { unit: options.unit })
      .default(fallback),
  boolean: (fallback: boolean) => z.stringbool().default(fallback),
  /** A required string; its value never appears in a ConfigError. */
  secret: () => z.string().min(1),
};

/** The variables every Parley service reads, to spread into a service's schema. */
export function commonEnv() {
  return {
    NODE_ENV: envVars
      .nodeEnv()
      .describe(
        'Decides the `CORS_ORIGINS` default and, for auth, whether a configured signing key is required.',
      ),
    LOG_LEVEL: envVars.logLevel().describe('pino log level.'),
    HOST: envVars.host().describe('Address to listen on.'),
    CORS_ORIGINS: envVars.corsOrigins().meta({
      description: 'Origins a browser page may call the API from: comma-separated, or `*`.',
      defaultText: 'every origin in `development`, none otherwise',
    }),
    SHUTDOWN_TIMEOUT_MS: envVars
      .shutdownTimeoutMs()
      .describe('Budget of the ordered graceful shutdown on SIGTERM/SIGINT.'),
    BODY_LIMIT: envVars
      .bodyLimit()
      .describe(
        'Largest JSON body; a bigger one gets 413 `payload_too_large` (websocket has no route that takes a body).',
      ),
    REQUEST_DEADLINE_MS: envVars
      .durationMs(1_500)
      .describe(
        'An HTTP request still unanswered after this gets 503 `dependency_unavailable`, so a stalled dependency never hangs a client (auth and chat); `0` turns it off.',
      ),
    HTTP_HEADERS_TIMEOUT_MS: envVars
      .durationMs(10_000)
      .describe(
        'A client must have sent its whole request head within this (slowloris bound); past it the answer is 408 and the connection is closed.',
      ),
    HTTP_REQUEST_TIMEOUT_MS: envVars
      .durationMs(30_000)
      .describe(
        'A client must have sent its whole request, head and body, within this; a value below `HTTP_HEADERS_TIMEOUT_MS` is raised to it.',
      ),
    HTTP_KEEP_ALIVE_TIMEOUT_MS: envVars
      .durationMs(5_000)
      .describe('An idle keep-alive connection is closed after this.'),
  };
}

/**
 * Where Prometheus scrapes (metrics-server.ts): a port of its own, on loopback by
 * default, never the public port. Spread into a service's schema with its default port.
 */
export function metricsEnv(defaultPort: number) {
  return {
    METRICS_PORT: envVars
      .port(defaultPort)
      .describe(
        'Port of the Prometheus `GET /metrics` listener; never served on `PORT` (404 there).',
      ),
    METRICS_HOST: envVars
      .host('127.0.0.1')
      .describe(
        'Address the `/metrics` listener binds to: `127.0.0.1` keeps it off the network; `0.0.0.0` lets a scraper in another container reach it.',
      ),
  };
}

/**
 * express `trust proxy` (https://expressjs.com/en/guide/behind-proxies.html), shared by
 * every service that keys a limit on the client address: `false` (the TCP peer is the
 * client), a hop count such as `1` (believe that many X-Forwarded-For entries from the
 * right), or addresses/subnets such as `loopback, 10.0.0.0/8` (believe the header only
 * from those peers). `true` believes any X-Forwarded-For, which lets every client pick
 * its own address: only behind a proxy that overwrites the header.
 */
export type TrustProxy = boolean | number | string;

export function trustProxyEnv() {
  return z
    .string()
    .default('false')
    .transform((value): TrustProxy => {
      const v = value.trim().toLowerCase();
      if (v === 'false') return false;
      if (v === 'true') return true;
      if (/^\d+$/.test(v)) return Number(v);
      return value.trim();
    })
    .describe(
      'Whether `X-Forwarded-For` is believed for the client address (express `trust proxy`), in auth and websocket alike: `false` (the TCP peer), a hop count (`1`), addresses/subnets (`loopback, 10.0.0.0/8`), or `true` (any `X-Forwarded-For`: only behind a proxy that overwrites it, else clients choose their own address and evade the per-address limits).',
    );
}

/** startHttpServer's timeouts from the common variables (see commonEnv). */
export function httpServerTimeouts(config: {
  HTTP_HEADERS_TIMEOUT_MS: number;
  HTTP_REQUEST_TIMEOUT_MS: number;
  HTTP_KEEP_ALIVE_TIMEOUT_MS: number;
}): { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number } {
  return {
    headersTimeoutMs: config.HTTP_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: config.HTTP_KEEP_ALIVE_TIMEOUT_MS,
  };
}

/** The variables of a service that verifies access tokens against auth's JWKS. */
export function jwtVerifierEnv(defaultJwksUrl = 'http://127.0.0.1:5001/.well-known/jwks.json') {
  return {
    JWKS_URL: envVars
      .jwksUrl(defaultJwksUrl)
      .describe("Where to fetch auth's public keys (its `/.well-known/jwks.json`)."),
    JWT_ISSUER: envVars.jwtIssuer(),
    JWT_AUDIENCE: envVars.jwtAudience(),
  };
}

/** CORS_ORIGINS when set; otherwise every origin in development and none elsewhere. */
export function resolveCorsOrigins(
  corsOrigins: '*' | string[] | undefined,
  nodeEnv: NodeEnv,
): '*' | string[] {
  if (corsOrigins !== undefined) return corsOrigins;
  return nodeEnv === 'development' ? '*' : [];
}
