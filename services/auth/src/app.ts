// Builds the auth HTTP app from its dependencies; no env reads, no listening, so
// tests can run two instances side by side on one database.
import { routesOf } from '@parley/contracts';
import {
  createHttpApp,
  createOpenApiDocument,
  finishHttpApp,
  type HttpAppOptions,
  type OpenApiDocument,
} from '@parley/server-kit';
import type { Express } from 'express';
import type { Db } from 'mongodb';
import { createLocalTokenVerifier } from './access-token-verifier';
import { createAuthMetrics } from './auth-metrics';
import { createAuthRouter } from './auth-routes';
import { createAuthService } from './auth-service';
import type { AuthSettings } from './config';
import { createLoginLimiter } from './login-limiter';
import { createPasswordHasher } from './password-hasher';
import { createRefreshTokenStore } from './refresh-token-store';
import { createRegistrationLimiter } from './registration-limiter';
import type { SigningKeys } from './signing-keys';
import { createTokenIssuer } from './token-issuer';
import { createUserRouter } from './user-routes';
import { createUserStore } from './user-store';

export interface AppDeps extends Omit<HttpAppOptions, 'openapi'> {
  db: Db;
  signingKeys: SigningKeys;
  settings: AuthSettings;
  /** The clock; injectable so token expiry can be tested without waiting. */
  now?: () => Date;
}

export function createAuthOpenApiDocument(): OpenApiDocument {
  return createOpenApiDocument({
    title: 'Parley auth',
    version: '1.0.0',
    description:
      'Accounts, login, access/refresh tokens, JWKS and user lookup (docs/design.md §3).',
    register: (api) => api.routes(routesOf('auth').map(([, route]) => route)),
  });
}

export function createApp(deps: AppDeps): Express {
  const { db, settings, signingKeys } = deps;
  const now = deps.now ?? (() => new Date());

  const verifier = createLocalTokenVerifier({
    keys: signingKeys,
    issuer: settings.issuer,
    audience: settings.audience,
  });
  const auth = createAuthService({
    users: createUserStore(db),
    refreshTokens: createRefreshTokenStore(db, { ttlSeconds: settings.refreshTokenTtlSeconds }),
    passwords: createPasswordHasher({ cost: settings.bcryptCost }),
    tokens: createTokenIssuer({
      keys: signingKeys,
      issuer: settings.issuer,
      audience: settings.audience,
      ttlSeconds: settings.accessTokenTtlSeconds,
      now,
    }),
    loginLimiter: createLoginLimiter(db, {
      perUsernameAndIp: settings.loginFailuresPerUsernameAndIp,
      perIp: settings.loginFailuresPerIp,
      usernameWindowSeconds: settings.loginSlowdown.windowSeconds,
      slowdown: settings.loginSlowdown,
    }),
    registrationLimiter: createRegistrationLimiter(db, settings.registrationsPerIp),
    metrics: createAuthMetrics(deps.metrics),
    now,
  });

  const { db: _db, signingKeys: _keys, settings: _settings, now: _now, ...httpOptions } = deps;
  const app = createHttpApp({ ...httpOptions, openapi: createAuthOpenApiDocument() });
  app.use(createAuthRouter({ auth, verifier, signingKeys }));
  app.use(createUserRouter({ auth, verifier }));
  return finishHttpApp(app);
}
