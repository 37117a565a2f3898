// The auth service's environment, validated once at boot by main.ts; the descriptions
// here are what docs/configuration.md shows (`pnpm config:docs`). Durations accept
// `900`, `900s`, `15m`, `12h` or `30d` (a bare number is seconds) because token
// lifetimes are easier to read that way than as ms.
import {
  commonEnv,
  envVars,
  loadConfig,
  metricsEnv,
  trustProxyEnv,
  type Env,
} from '@parley/server-kit';
import { ACCESS_TOKEN_ALGORITHMS, EVENTS_EXCHANGE } from '@parley/contracts';
import { z } from 'zod';
import type { LoginSlowdown } from './login-limiter';
import type { WindowLimit } from './mongo-rate-limit';

const DURATION = /^(\d+)\s*(s|m|h|d)?$/i;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** A duration in whole seconds, written `900`, `900s`, `15m`, `12h` or `30d`. */
export function durationSeconds(fallback: string) {
  return z
    .string()
    .default(fallback)
    .refine(
      (value) => DURATION.test(value.trim()),
      'must be a duration such as 900, 15m, 12h or 30d',
    )
    .transform((value) => {
      const [, amount = '0', unit = 's'] = DURATION.exec(value.trim()) ?? [];
      return Number(amount) * (UNIT_SECONDS[unit.toLowerCase()] ?? 1);
    })
    .pipe(z.number().int().min(1))
    .meta({ format: 'duration' });
}

/** Room left for bcrypt (cost 12 is ~250 ms) between the longest slowdown and the deadline. */
const SLOWDOWN_DEADLINE_MARGIN_MS = 400;

export const authEnvSchema = z
  .object({
    ...commonEnv(),
    PORT: envVars.port(5001),
    ...metricsEnv(9101),
    MONGO_URL: envVars.mongoUrl(),
    TRUST_PROXY: trustProxyEnv(),
    AMQP_URL: envVars
      .amqpUrl()
      .describe(
        'RabbitMQ, where `session_revoked` is published (logout-all, password change); its user needs write on `EVENTS_EXCHANGE` only. `/readyz` does not depend on it.',
      ),
    EVENTS_EXCHANGE: z
      .string()
      .min(1)
      .max(255)
      .default(EVENTS_EXCHANGE)
      .describe(
        'The fanout exchange `session_revoked` is published to (chat declares it; auth only when it is missing).',
      ),
    PUBLISH_TIMEOUT_MS: envVars
      .durationMs(5_000)
      .describe(
        "How long a publish waits for RabbitMQ's confirm before leaving the event to the relay.",
      ),
    OUTBOX_RELAY_INTERVAL_MS: envVars
      .durationMs(1_000)
      .describe(
        'Between passes of the relay that republishes unconfirmed `session_revoked` events.',
      ),
    OUTBOX_GRACE_MS: envVars
      .durationMs(2_000)
      .describe(
        'How long a stored `session_revoked` is left to the fast path before the relay republishes it.',
      ),

    JWT_ALGORITHM: z
      .enum(ACCESS_TOKEN_ALGORITHMS)
      .default('RS256')
      .describe(
        'Signing algorithm of access tokens; the key must be of its type. RS256 by default because verifying it is cheaper, which matters on the websocket handshake.',
      ),
    JWT_ISSUER: envVars.jwtIssuer(),
    JWT_AUDIENCE: envVars.jwtAudience(),
    JWT_PRIVATE_KEY: envVars
      .secret()
      .optional()
      .describe(
        'PEM of the signing key (PKCS#8, PKCS#1 or SEC1; literal `\\n` allowed). This or `JWT_PRIVATE_KEY_FILE` is required when `NODE_ENV=production`; without either, development keeps a generated key in MongoDB `signing_keys`.',
      ),
    JWT_PRIVATE_KEY_FILE: z
      .string()
      .min(1)
      .optional()
      .describe('Path to that PEM (a mounted secret); not together with `JWT_PRIVATE_KEY`.'),
    ACCESS_TOKEN_TTL: durationSeconds('15m').describe('Lifetime of an access token.'),
    REFRESH_TOKEN_TTL: durationSeconds('30d').describe(
      'Lifetime of a refresh token; every rotation issues a new one with a full lifetime, never past the end of its login (`REFRESH_FAMILY_MAX_AGE`).',
    ),
    REFRESH_FAMILY_MAX_AGE: durationSeconds('90d').describe(
      'Absolute lifetime of a login (a refresh-token family): rotation never extends it; after it the user logs in again.',
    ),

    BCRYPT_COST: envVars
      .int(12, { min: 4, max: 15 })
      .describe('bcrypt work factor of stored passwords (the tests use 4).'),

    LOGIN_MAX_FAILURES_PER_USERNAME_PER_IP: envVars
      .int(10, { min: 1 })
      .describe(
        'Failed logins (and password changes) for one username from one client address per window; then 429 `rate_limited` for that pair only.',
      ),
    LOGIN_MAX_FAILURES_PER_IP: envVars
      .int(100, { min: 1 })
      .describe(
        'Failed logins from one client address per window, over any usernames; then 429 `rate_limited`.',
      ),
    LOGIN_FAILURE_WINDOW: durationSeconds('15m').describe(
      'Window of the login limits and of the slowdown count.',
    ),
    LOGIN_SLOWDOWN_AFTER: envVars
      .int(5, { min: 0 })
      .describe(
        'Attempts on one username, from any address, per window before its logins slow down (never refused).',
      ),
    LOGIN_SLOWDOWN_BASE_MS: envVars
      .durationMs(250)
      .describe(
        'Wait before the password check of the first slowed attempt; doubled per further attempt.',
      ),
    LOGIN_SLOWDOWN_MAX_MS: envVars
      .durationMs(1_000)
      .describe(
        'Longest such wait; must be at least 400 ms below `REQUEST_DEADLINE_MS` (the wait and bcrypt share the request deadline).',
      ),
    REGISTRATIONS_PER_IP: envVars
      .int(100, { min: 1 })
      .describe('Registration attempts with a valid body per client IP per window.'),
    REGISTRATION_WINDOW: durationSeconds('1h').describe('Window of the registration limit.'),
  })
  .superRefine((env, ctx) => {
    if (env.JWT_PRIVATE_KEY !== undefined && env.JWT_PRIVATE_KEY_FILE !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, not both',
      });
    }
    if (
      env.REQUEST_DEADLINE_MS > 0 &&
      env.LOGIN_SLOWDOWN_MAX_MS + SLOWDOWN_DEADLINE_MARGIN_MS > env.REQUEST_DEADLINE_MS
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['LOGIN_SLOWDOWN_MAX_MS'],
        message: `must be at least ${SLOWDOWN_DEADLINE_MARGIN_MS} ms below REQUEST_DEADLINE_MS (the slowdown and bcrypt share the request deadline)`,
      });
    }
    const hasKey = env.JWT_PRIVATE_KEY !== undefined || env.JWT_PRIVATE_KEY_FILE !== undefined;
    if (env.NODE_ENV === 'production' && !hasKey) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          'JWT_PRIVATE_KEY (PEM) or JWT_PRIVATE_KEY_FILE (path to a PEM) is required when ' +
          'NODE_ENV=production; generated keys are for development only',
      });
    }
  });

export type AuthEnv = z.output<typeof authEnvSchema>;

export function loadAuthConfig(env: Env = process.env): AuthEnv {
  return loadConfig(authEnvSchema, env);
}

/** What the app needs of the environment, in the units the code uses. */
export interface AuthSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  refreshFamilyMaxAgeSeconds: number;
  bcryptCost: number;
  loginFailuresPerUsernameAndIp: WindowLimit;
  loginFailuresPerIp: WindowLimit;
  loginSlowdown: LoginSlowdown & { windowSeconds: number };
  registrationsPerIp: WindowLimit;
  /** The session_revoked outbox: relay pass interval and how long the fast path is given. */
  outbox: { intervalMs: number; graceMs: number };
}

export function authSettingsFrom(env: AuthEnv): AuthSettings {
  return {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
    refreshFamilyMaxAgeSeconds: env.REFRESH_FAMILY_MAX_AGE,
    bcryptCost: env.BCRYPT_COST,
    loginFailuresPerUsernameAndIp: {
      points: env.LOGIN_MAX_FAILURES_PER_USERNAME_PER_IP,
      windowSeconds: env.LOGIN_FAILURE_WINDOW,
    },
    loginSlowdown: {
      after: env.LOGIN_SLOWDOWN_AFTER,
      baseMs: env.LOGIN_SLOWDOWN_BASE_MS,
      maxMs: env.LOGIN_SLOWDOWN_MAX_MS,
      windowSeconds: env.LOGIN_FAILURE_WINDOW,
    },
    loginFailuresPerIp: {
      points: env.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: env.LOGIN_FAILURE_WINDOW,
    },
    registrationsPerIp: {
      points: env.REGISTRATIONS_PER_IP,
      windowSeconds: env.REGISTRATION_WINDOW,
    },
    outbox: { intervalMs: env.OUTBOX_RELAY_INTERVAL_MS, graceMs: env.OUTBOX_GRACE_MS },
  };
}
