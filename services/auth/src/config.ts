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
import { ACCESS_TOKEN_ALGORITHMS } from '@parley/contracts';
import { z } from 'zod';
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

export const authEnvSchema = z
  .object({
    ...commonEnv(),
    PORT: envVars.port(5001),
    ...metricsEnv(9101),
    MONGO_URL: envVars.mongoUrl(),
    TRUST_PROXY: trustProxyEnv(),

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
      'Lifetime of a refresh token; every rotation issues a new one with a full lifetime.',
    ),

    BCRYPT_COST: envVars
      .int(12, { min: 4, max: 15 })
      .describe('bcrypt work factor of stored passwords (the tests use 4).'),

    LOGIN_MAX_FAILURES_PER_USERNAME: envVars
      .int(10, { min: 1 })
      .describe('Failed logins per username per window; then 429 `rate_limited`.'),
    LOGIN_MAX_FAILURES_PER_IP: envVars
      .int(100, { min: 1 })
      .describe('Failed logins per client IP per window; then 429 `rate_limited`.'),
    LOGIN_FAILURE_WINDOW: durationSeconds('15m').describe('Window of both login limits.'),
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
  bcryptCost: number;
  loginFailuresPerUsername: WindowLimit;
  loginFailuresPerIp: WindowLimit;
  registrationsPerIp: WindowLimit;
}

export function authSettingsFrom(env: AuthEnv): AuthSettings {
  return {
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    accessTokenTtlSeconds: env.ACCESS_TOKEN_TTL,
    refreshTokenTtlSeconds: env.REFRESH_TOKEN_TTL,
    bcryptCost: env.BCRYPT_COST,
    loginFailuresPerUsername: {
      points: env.LOGIN_MAX_FAILURES_PER_USERNAME,
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
  };
}
