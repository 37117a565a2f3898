// Builds the auth HTTP app from its dependencies; no env reads, no listening, so
// tests can run two instances side by side on one database. createAuthServices()
// builds the use cases (also what main.ts's relay of session_revoked events needs),
// createApp() the HTTP app over them.
import type { ParleyEvent } from '@parley/contracts';
import { routesOf } from '@parley/contracts';
import {
  createHttpApp,
  createOpenApiDocument,
  finishHttpApp,
  type EventPublisher,
  type HttpAppOptions,
  type Logger,
  type Metrics,
  type OpenApiDocument,
  type TokenVerifier,
} from '@parley/server-kit';
import type { Express } from 'express';
import type { Db } from 'mongodb';
import { createLocalTokenVerifier } from './access-token-verifier';
import { createAuthMetrics } from './auth-metrics';
import { createAuthRouter } from './auth-routes';
import { createAuthService, type AuthService } from './auth-service';
import type { AuthSettings } from './config';
import { createLoginLimiter } from './login-limiter';
import { createPasswordHasher } from './password-hasher';
import { createRefreshTokenStore } from './refresh-token-store';
import { createRegistrationLimiter } from './registration-limiter';
import { createSessionRevocations, type SessionRevocations } from './session-revocations';
import type { SigningKeys } from './signing-keys';
import { createTokenIssuer } from './token-issuer';
import { createUserRouter } from './user-routes';
import { createUserStore } from './user-store';

export interface AuthServicesDeps {
  db: Db;
  signingKeys: SigningKeys;
  settings: AuthSettings;
  /** Where session_revoked goes (chat.events); its failures are the relay's to retry. */
  publisher: EventPublisher<ParleyEvent>;
  metrics: Metrics;
  logger: Logger;
  /** The clock; injectable so token expiry can be tested without waiting. */
  now?: () => Date;
}

export interface AuthServices {
  auth: AuthService;
  verifier: TokenVerifier;
  signingKeys: SigningKeys;
  /** The session_revoked outbox: main.ts runs its relay pass every interval. */
  revocations: SessionRevocations;
}

export function createAuthServices(deps: AuthServicesDeps): AuthServices {
  const { db, settings, signingKeys } = deps;
  const now = deps.now ?? (() => new Date());
  const metrics = createAuthMetrics(deps.metrics);
  const users = createUserStore(db);
  const refreshTokens = createRefreshTokenStore(db, {
    ttlSeconds: settings.refreshTokenTtlSeconds,
    familyMaxAgeSeconds: settings.refreshFamilyMaxAgeSeconds,
  });
  const revocations = createSessionRevocations({
    db,
    users,
    refreshTokens,
    publisher: deps.publisher,
    logger: deps.logger,
    metrics,
    graceMs: settings.outbox.graceMs,
    now,
  });

  const verifier = createLocalTokenVerifier({
    keys: signingKeys,
    issuer: settings.issuer,
    audience: settings.audience,
  });
  const auth = createAuthService({
    users,
    refreshTokens,
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
    revocations,
    metrics,
    refreshFamilyMaxAgeSeconds: settings.refreshFamilyMaxAgeSeconds,
    now,
  });
  return { auth, verifier, signingKeys, revocations };
}

export interface AppDeps extends Omit<HttpAppOptions, 'openapi'> {
  services: AuthServices;
}

export function createAuthOpenApiDocument(): OpenApiDocument {
  return createOpenApiDocument({
    title: 'Parley auth',
    version: '1.0.0',
    description:
      'Accounts, login, access/refresh tokens, sessions, JWKS and user lookup (docs/design.md §3, §9).',
    register: (api) => api.routes(routesOf('auth').map(([, route]) => route)),
  });
}

export function createApp(deps: AppDeps): Express {
  const { services, ...httpOptions } = deps;
  const app = createHttpApp({ ...httpOptions, openapi: createAuthOpenApiDocument() });
  app.use(createAuthRouter(services));
  app.use(createUserRouter(services));
  return finishHttpApp(app);
}
